package kube

import (
	"os"
	"strings"

	"github.com/cscript-dev/cscript/internal/fail"
)

// ExecTransport is the protocol an exec stream goes over.
type ExecTransport string

// The transports. Auto is SPDY first and WebSocket when the SPDY upgrade is
// refused (a proxy that passes only WebSocket); SPDY and WebSocket force one,
// with no fallback.
const (
	TransportAuto      ExecTransport = "auto"
	TransportSPDY      ExecTransport = "spdy"
	TransportWebSocket ExecTransport = "websocket"
)

// ExecTransportEnv names the environment variable that picks the transport of
// every exec (the script's and the file transfers'): spdy, websocket or auto
// (the default, also when it is empty).
const ExecTransportEnv = "CSCRIPT_EXEC_TRANSPORT"

// ParseExecTransport reads one of the transports' names (case-insensitive;
// "" and "auto" are TransportAuto). Anything else is a fail.Usage error
// naming the value and the choices.
func ParseExecTransport(s string) (ExecTransport, error) {
	switch t := ExecTransport(strings.ToLower(strings.TrimSpace(s))); t {
	case "", TransportAuto:
		return TransportAuto, nil
	case TransportSPDY, TransportWebSocket:
		return t, nil
	}
	return "", fail.Errorf(fail.Usage, "%s=%q is not an exec transport: set it to spdy, websocket or auto (the default), or unset it", ExecTransportEnv, s)
}

// ExecTransportFromEnv is ParseExecTransport of $CSCRIPT_EXEC_TRANSPORT.
func ExecTransportFromEnv() (ExecTransport, error) {
	return ParseExecTransport(os.Getenv(ExecTransportEnv))
}
