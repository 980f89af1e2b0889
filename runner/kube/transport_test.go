package kube

import (
	"strings"
	"testing"

	"github.com/cscript-dev/cscript/internal/fail"
)

func TestParseExecTransport(t *testing.T) {
	for in, want := range map[string]ExecTransport{
		"": TransportAuto, "auto": TransportAuto, "spdy": TransportSPDY, "SPDY": TransportSPDY,
		" websocket ": TransportWebSocket, "WebSocket": TransportWebSocket,
	} {
		got, err := ParseExecTransport(in)
		if err != nil || got != want {
			t.Errorf("ParseExecTransport(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"ws", "http2", "spdy,websocket"} {
		_, err := ParseExecTransport(in)
		if err == nil || fail.KindOf(err) != fail.Usage || !strings.Contains(err.Error(), ExecTransportEnv+"=\""+in+"\"") ||
			!strings.Contains(err.Error(), "spdy, websocket or auto") {
			t.Errorf("ParseExecTransport(%q): %v, want a usage error naming the value and the choices", in, err)
		}
	}
}

func TestRunRefusesBadExecTransportBeforeCreatingAnything(t *testing.T) {
	t.Setenv(ExecTransportEnv, "carrier-pigeon")
	h := newHarness(t)
	_, err := h.run(minimalSpec())
	if err == nil || fail.KindOf(err) != fail.Usage || !strings.Contains(err.Error(), `"carrier-pigeon"`) {
		t.Fatalf("err = %v, want a usage error naming the value", err)
	}
	if h.did("create pods") || h.did("create selfsubjectaccessreviews") {
		t.Error("the run went on despite the bad transport")
	}
}
