# shellcheck shell=bash
# A CA and the certificates and kubeconfigs of every component, made with
# openssl into $PKI. Made once per state directory; `down --purge` removes them.

# cert NAME SUBJECT [SANS]: a key and a certificate signed by the CA.
cert() {
	local name=$1 subj=$2 sans=${3:-}
	[[ -f $PKI/$name.crt ]] && return 0
	openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
	openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		if [[ -n $sans ]]; then
			echo "extendedKeyUsage=serverAuth,clientAuth"
			echo "subjectAltName=$sans"
		else
			echo "extendedKeyUsage=clientAuth"
		fi
	} >"$PKI/$name.ext"
	openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
		-days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
	rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

# kubeconfig FILE CERTNAME: a kubeconfig with the credentials embedded.
kubeconfig() {
	local file=$1 name=$2
	[[ -f $file ]] && return 0
	cat >"$file.tmp" <<-YAML
		apiVersion: v1
		kind: Config
		clusters:
		- name: cscript-test
		  cluster:
		    server: $APISERVER
		    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
		users:
		- name: $name
		  user:
		    client-certificate-data: $(base64 -w0 <"$PKI/$name.crt")
		    client-key-data: $(base64 -w0 <"$PKI/$name.key")
		contexts:
		- name: cscript-test
		  context:
		    cluster: cscript-test
		    user: $name
		    namespace: default
		current-context: cscript-test
	YAML
	chmod 600 "$file.tmp"
	mv "$file.tmp" "$file"
}

make_pki() {
	mkdir -p "$PKI"
	chmod 700 "$PKI"
	if [[ ! -f $PKI/ca.crt ]]; then
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
			-days 3650 -subj "/CN=cscript-test-ca" 2>/dev/null
	fi
	cert apiserver "/CN=kube-apiserver" \
		"IP:127.0.0.1,IP:$FIRST_SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
	cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
	cert admin "/O=system:masters/CN=cscript-admin"
	cert controller-manager "/CN=system:kube-controller-manager"
	cert scheduler "/CN=system:kube-scheduler"
	cert kubelet-client "/O=system:nodes/CN=system:node:$NODE"
	cert kubelet "/CN=$NODE" "DNS:$NODE,IP:127.0.0.1,DNS:localhost"
	if [[ ! -f $PKI/sa.key ]]; then
		openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
		openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
	fi
	kubeconfig "$KUBECONFIG_FILE" admin
	kubeconfig "$PKI/controller-manager.kubeconfig" controller-manager
	kubeconfig "$PKI/scheduler.kubeconfig" scheduler
	kubeconfig "$PKI/kubelet.kubeconfig" kubelet-client
}
