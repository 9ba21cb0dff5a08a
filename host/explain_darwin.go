package host

// explainHeader is empty on macOS: confine.Explain's text is the Seatbelt
// profile with the sandbox-exec command line that applies it, and says
// itself what its two descriptors hold.
func explainHeader() string { return "" }
