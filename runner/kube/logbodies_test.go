package kube

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"
)

// At client-go's highest verbosity, request and response bodies are logged:
// a Secret's data as protobuf in a hex dump (or base64 in JSON). Calls made
// with withoutBodies log the same lines, from the same place, without the
// bodies.
func TestWithoutBodiesHidesSecretData(t *testing.T) {
	const value = "s3cr3t-VALUE-0123456789abcdef"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body) // the API server answers with the object
	}))
	defer srv.Close()

	create := func(t *testing.T, contentType string, hide bool) string {
		var out bytes.Buffer
		ctx := klog.NewContext(context.Background(), textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(10), textlogger.Output(&out))))
		cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, ContentConfig: rest.ContentConfig{ContentType: contentType}})
		if err != nil {
			t.Fatal(err)
		}
		if hide {
			ctx = withoutBodies(ctx)
		}
		if _, err := cs.CoreV1().Secrets("ns").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "run"},
			Data:       map[string][]byte{"TOKEN": []byte(value)},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create: %v", err)
		}
		return out.String()
	}
	leaks := func(log string) bool {
		return strings.Contains(log, value[:16]) || strings.Contains(log, base64.StdEncoding.EncodeToString([]byte(value))[:16]) ||
			strings.Contains(log, "00000000  ") // a hex dump of the protobuf body
	}
	where := regexp.MustCompile(`(\S+:\d+)\] "Request Body"`)

	// "" is client-go's default for built-in types: protobuf.
	for _, contentType := range []string{"", "application/json"} {
		t.Run("content type "+contentType, func(t *testing.T) {
			shown, hidden := create(t, contentType, false), create(t, contentType, true)
			if !leaks(shown) {
				t.Fatalf("without withoutBodies the data should be logged (else this test proves nothing):\n%s", shown)
			}
			if leaks(hidden) || strings.Count(hidden, hiddenBody) != 2 {
				t.Errorf("the Secret's data is in the log:\n%s", hidden)
			}
			ws, wh := where.FindStringSubmatch(shown), where.FindStringSubmatch(hidden)
			if ws == nil || wh == nil || ws[1] != wh[1] {
				t.Errorf("the hidden body is logged from %v, the shown one from %v", wh, ws)
			}
		})
	}
}
