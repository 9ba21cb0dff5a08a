// Package ca is the certificate authority sandbar's proxy signs with when
// it terminates TLS for the git hosts it checks (package gitguard).
//
// There is one per user, made on first use under sandbar's state directory
// ([Open]):
//
//	DIR/ca.pem              the CA's certificate (public)
//	DIR/bundle.pem          the system's roots and the CA's certificate
//	DIR/private/ca-key.pem  the CA's key and certificate, mode 0600
//
// Only sandboxed commands trust it, and only because sandbar points them
// at ca.pem or bundle.pem through their environment (GIT_SSL_CAINFO,
// SSL_CERT_FILE, NODE_EXTRA_CA_CERTS...): it is never added to the
// system's or the user's trust store, so nothing outside a sandbox
// accepts a certificate it signed.
//
// The key never enters a sandbox. The state directory is read-only in
// every sandbox, and DIR/private is hidden in every sandbox (an empty,
// unreadable directory in its place; workspace/launch adds the rule), so a
// confined command can neither read the key nor replace it. The private
// directory is made (mode 0700) before any sandbox that could see it
// starts, so no sandbox that started before the key existed can see the
// key appear.
//
// [CA.Certificate] makes a short-lived leaf certificate for one host,
// signed by the CA, with a key kept in memory only.
package ca
