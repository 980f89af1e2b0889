package kube

import (
	"context"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// hiddenBody replaces the body of a request or response in client-go's log.
const hiddenBody = "(hidden by cscript: Secret data)"

// withoutBodies returns ctx with a logger that logs what the logger of ctx
// logs, but with every request and response body hidden. Every call that
// sends or receives the run Secret uses it: at verbosity 8 and above
// client-go logs bodies, and a Secret's data is there, base64-encoded in
// JSON or as raw bytes in a hex dump of protobuf that no redaction of the
// value can recognise (the dump splits it every 16 bytes, and truncation at
// level 8 may cut it anywhere).
func withoutBodies(ctx context.Context) context.Context {
	l := klog.FromContext(ctx)
	sink := l.GetSink()
	if sink == nil {
		return ctx
	}
	// The wrapper adds one frame between client-go and the real sink.
	if cd, ok := sink.(logr.CallDepthLogSink); ok {
		sink = cd.WithCallDepth(1)
	}
	return klog.NewContext(ctx, logr.New(bodyHider{sink}))
}

// bodyHider is a logr.LogSink that replaces the value of the key "body".
type bodyHider struct{ logr.LogSink }

var (
	_ logr.LogSink          = bodyHider{}
	_ logr.CallDepthLogSink = bodyHider{}
)

// Init is a no-op: the wrapped sink was initialised by its own logger.
func (h bodyHider) Init(logr.RuntimeInfo) {}

func (h bodyHider) Info(level int, msg string, kv ...any) {
	h.LogSink.Info(level, msg, hideBodies(kv)...)
}

func (h bodyHider) Error(err error, msg string, kv ...any) {
	h.LogSink.Error(err, msg, hideBodies(kv)...)
}

func (h bodyHider) WithValues(kv ...any) logr.LogSink {
	return bodyHider{h.LogSink.WithValues(hideBodies(kv)...)}
}

func (h bodyHider) WithName(name string) logr.LogSink {
	return bodyHider{h.LogSink.WithName(name)}
}

func (h bodyHider) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := h.LogSink.(logr.CallDepthLogSink); ok {
		return bodyHider{cd.WithCallDepth(depth)}
	}
	return h
}

func hideBodies(kv []any) []any {
	var out []any
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok && k == "body" {
			if out == nil {
				out = append([]any(nil), kv...)
			}
			out[i+1] = hiddenBody
		}
	}
	if out == nil {
		return kv
	}
	return out
}
