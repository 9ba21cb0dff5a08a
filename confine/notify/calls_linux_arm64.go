package notify

import "golang.org/x/sys/unix"

// auditArch is the audit arch of the calls the supervisor can read: the
// notify filter lets every other ABI through without sending it. arm64
// has only the *at forms of the calls, which calls_linux.go lists.
const auditArch = unix.AUDIT_ARCH_AARCH64
