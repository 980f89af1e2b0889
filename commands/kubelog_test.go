package commands

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cscript-dev/cscript/redact"
)

// At client-go's highest verbosity the request and response bodies are
// logged, the run Secret's data among them (base64 in JSON): the log must
// carry the bodies, redacted.
func TestKubeLoggingRedactsBodies(t *testing.T) {
	const secret = `tok-"SECRET"-\x`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body) // the API server echoes the object
	}))
	defer srv.Close()

	for _, v := range []int{0, 6, 8, 10} {
		var out bytes.Buffer
		secrets := redact.New()
		restore := kubeLogging(v, &out, secrets)
		secrets.Add(secret)
		// JSON, so that bodies are logged as text (the run Secret's own calls
		// hide their bodies: see runner.withoutBodies).
		cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, ContentConfig: rest.ContentConfig{ContentType: "application/json"}})
		if err != nil {
			restore()
			t.Fatal(err)
		}
		_, err = cs.CoreV1().Secrets("ns").Create(context.Background(), &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "run"},
			Data:       map[string][]byte{"TOKEN": []byte(secret)},
			StringData: map[string]string{"PLAIN": secret},
		}, metav1.CreateOptions{})
		if err == nil {
			_, err = cs.CoreV1().ConfigMaps("ns").Create(context.Background(), &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: "oops"},
				Data:       map[string]string{"PLAIN": secret},
			}, metav1.CreateOptions{})
		}
		restore()
		if err != nil {
			t.Fatalf("v=%d: create: %v", v, err)
		}
		log := out.String()
		for _, leak := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), `tok-\"SECRET\"`, "SECRET"} {
			if strings.Contains(log, leak) {
				t.Errorf("v=%d: the log shows %q:\n%s", v, leak, log)
			}
		}
		switch {
		case v >= 8 && (!strings.Contains(log, "Request Body") || !strings.Contains(log, "Response Body")):
			t.Errorf("v=%d: no bodies in the log:\n%s", v, log)
		case v >= 6 && !strings.Contains(log, "/api/v1/namespaces/ns/configmaps"):
			t.Errorf("v=%d: no request URL in the log:\n%s", v, log)
		case v == 0 && log != "":
			t.Errorf("v=0: the log is not empty:\n%s", log)
		}
	}
}
