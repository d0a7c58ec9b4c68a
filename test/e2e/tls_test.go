//go:build e2e

// tls_test.go drives furl's HTTPS listener (--tls-addr) with real clients: curl --cacert
// (HTTP/1.1 and HTTP/2), the AWS CLI and boto3 trusting furl's local CA, curl --aws-sigv4 and
// botocore-signed requests to an AWS_IAM URL over TLS, --http-redirect, a leaf renewed without
// a restart, and a certificate of the user's own reloaded on SIGHUP.
//
//	go test -tags e2e -run TLS ./test/e2e/ -v
package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tlsServer is a furl serve with a TLS listener.
type tlsServer struct {
	*urlServer
	tlsAddr string
	ca      string // the CA file clients trust
}

// tlsStart starts furl with --tls-addr and extra flags; ca is the CA clients trust ("" = furl's
// local CA in the data dir).
func tlsStart(t *testing.T, ca string, extra ...string) *tlsServer {
	t.Helper()
	needCommands(t, "/usr/bin/aws", "curl", "python3")
	work := t.TempDir()
	tlsAddr := freeAddr(t)
	data := filepath.Join(work, "data")
	cp := startFurl(t, data, freeAddr(t), urlKey, urlSecret, append([]string{"--tls-addr", tlsAddr}, extra...)...)
	s := &tlsServer{urlServer: &urlServer{cpServer: cp, work: work}, tlsAddr: tlsAddr, ca: ca}
	if s.ca == "" {
		s.ca = filepath.Join(data, "tls", "ca.pem")
	}
	t.Cleanup(func() {
		s.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("server log tail:\n%s", tail(s.logs.String(), 4000))
		}
	})
	return s
}

func (s *tlsServer) tlsPort() string {
	_, p, _ := net.SplitHostPort(s.tlsAddr)
	return p
}

// tlsEndpoint is the API over TLS, by a name on the API's certificate.
func (s *tlsServer) tlsEndpoint() string { return "https://localhost:" + s.tlsPort() }

// hostURLTLS returns the https Host-style URL of id and curl's --resolve for it.
func (s *tlsServer) hostURLTLS(id string) (url, resolve string) {
	host := id + ".lambda-url.us-east-1.localhost"
	return "https://" + host + ":" + s.tlsPort() + "/", host + ":" + s.tlsPort() + ":127.0.0.1"
}

// awsTLS runs the AWS CLI v2 as root against the TLS endpoint, trusting s.ca with AWS_CA_BUNDLE.
func (s *tlsServer) awsTLS(args ...string) map[string]any {
	s.t.Helper()
	cmd := exec.Command("/usr/bin/aws", append([]string{"--endpoint-url", s.tlsEndpoint(), "--output", "json"}, args...)...)
	cmd.Env = append(iamEnv(s.root), "AWS_CA_BUNDLE="+s.ca)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("aws %s: %v\n%s\nserver log tail:\n%s", strings.Join(args, " "), err, errb.String(), tail(s.logs.String(), 3000))
	}
	m := map[string]any{}
	if strings.TrimSpace(out.String()) != "" {
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			s.t.Fatalf("aws %s: output %q: %v", strings.Join(args, " "), out.String(), err)
		}
	}
	return m
}

// peerCert returns the leaf the TLS listener presents for serverName, verified against s.ca.
func (s *tlsServer) peerCert(serverName string) *x509.Certificate {
	s.t.Helper()
	pemBytes, err := os.ReadFile(s.ca)
	if err != nil {
		s.t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", s.tlsAddr, &tls.Config{ServerName: serverName, RootCAs: roots})
	if err != nil {
		s.t.Fatalf("TLS handshake for %q: %v", serverName, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

const tlsEcho = `import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
`

func TestTLSLocalCA(t *testing.T) {
	s := tlsStart(t, "", "--http-redirect")
	data := filepath.Join(s.work, "data")

	t.Run("furl ca prints the CA and how to trust it; modes", func(t *testing.T) {
		out, errs, err := s.furl("ca", "--data-dir", data)
		if err != nil {
			t.Fatalf("furl ca: %v\n%s", err, errs)
		}
		for _, want := range []string{s.ca, "--cacert", "AWS_CA_BUNDLE", "update-ca-certificates", "--ignore-certificate-errors-spki-list="} {
			if !strings.Contains(out, want) {
				t.Errorf("furl ca output lacks %q:\n%s", want, out)
			}
		}
		cmd := exec.Command(furlBinary(t), "ca", "--path")
		cmd.Env = append(os.Environ(), "FURL_DATA_DIR="+data)
		if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) != s.ca {
			t.Errorf("FURL_DATA_DIR furl ca --path = %q, %v", out, err)
		}
		for name, want := range map[string]os.FileMode{"ca.pem": 0o644, "ca-key.pem": 0o600} {
			fi, err := os.Stat(filepath.Join(data, "tls", name))
			if err != nil || fi.Mode().Perm() != want {
				t.Errorf("%s: %v mode %v, want %v", name, err, fi.Mode().Perm(), want)
			}
		}
	})

	// The API over TLS with the AWS CLI (real SigV4 signer) trusting the CA.
	s.awsTLS("lambda", "create-function", "--function-name", "echo", "--runtime", "python3.12", "--handler", "app.handler",
		"--role", "arn:aws:iam::000000000000:role/furl-default-lambda-role", "--zip-file", "fileb://"+s.zip(map[string][]byte{"app.py": []byte(tlsEcho)}))
	s.awsTLS("lambda", "wait", "function-active-v2", "--function-name", "echo")
	cfg := s.awsTLS("lambda", "create-function-url-config", "--function-name", "echo", "--auth-type", "NONE")
	s.awsTLS("lambda", "add-permission", "--function-name", "echo", "--statement-id", "FunctionURLAllowPublicAccess",
		"--action", "lambda:InvokeFunctionUrl", "--principal", "*", "--function-url-auth-type", "NONE")
	fu := str(cfg, "FunctionUrl")
	if !strings.HasPrefix(fu, "https://") || !strings.Contains(fu, ":"+s.tlsPort()+"/") {
		t.Fatalf("FunctionUrl %q: want https with the TLS port %s", fu, s.tlsPort())
	}
	id := urlIDOf(t, fu)
	iamID := s.deploy("iamecho", "python3.12", "app.handler", map[string][]byte{"app.py": []byte(tlsEcho)}, "AWS_IAM", "")

	t.Run("curl --cacert host-style, HTTP/2 and HTTP/1.1", func(t *testing.T) {
		u, resolve := s.hostURLTLS(id)
		for _, v := range []struct{ flag, want string }{{"--http2", "2"}, {"--http1.1", "1.1"}} {
			out := s.curl("--cacert", s.ca, "--resolve", resolve, v.flag, "-o", "/dev/null", "-w", "%{http_code} %{http_version}", u+"p?x=1")
			if out != "200 "+v.want {
				t.Errorf("curl %s: %q", v.flag, out)
			}
		}
	})
	t.Run("curl --cacert path-style on 127.0.0.1 and the API", func(t *testing.T) {
		out := s.curl("--cacert", s.ca, "-o", "/dev/null", "-w", "%{http_code}", "https://127.0.0.1:"+s.tlsPort()+"/lambda-url/"+id+"/")
		if out != "200" {
			t.Errorf("path-style: %q", out)
		}
		// Unsigned API request: the handshake succeeds, the API answers AWS's 403.
		out = s.curl("--cacert", s.ca, "-o", "/dev/null", "-w", "%{http_code}", s.tlsEndpoint()+"/2015-03-31/functions/")
		if out != "403" {
			t.Errorf("API: %q", out)
		}
	})
	t.Run("no certificate for hosts that are not URLs", func(t *testing.T) {
		cmd := exec.Command("curl", "-sS", "--cacert", s.ca, "--resolve", "nope0000.lambda-url.us-east-1.localhost:"+s.tlsPort()+":127.0.0.1",
			"https://nope0000.lambda-url.us-east-1.localhost:"+s.tlsPort()+"/")
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("handshake for an unknown URL id succeeded: %s", out)
		}
	})
	t.Run("TLS 1.1 refused, TLS 1.2 ECDHE AEAD", func(t *testing.T) {
		cmd := exec.Command("curl", "-sS", "--cacert", s.ca, "--tlsv1.1", "--tls-max", "1.1", s.tlsEndpoint()+"/")
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("TLS 1.1 handshake succeeded: %s", out)
		}
		cmd = exec.Command("curl", "-sS", "--cacert", s.ca, "--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-AES128-SHA", s.tlsEndpoint()+"/")
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("a CBC suite was accepted: %s", out)
		}
	})
	t.Run("curl --aws-sigv4 to an AWS_IAM URL over TLS", func(t *testing.T) {
		u, resolve := s.hostURLTLS(iamID)
		// bookworm's curl signs the query unsorted: keep it in order.
		out := s.curl("--cacert", s.ca, "--resolve", resolve, "--aws-sigv4", "aws:amz:us-east-1:lambda",
			"--user", urlKey+":"+urlSecret, "-w", "\n%{http_code}", u+"signed?a=1&b=2")
		if !strings.HasSuffix(out, "\n200") || !strings.Contains(out, `"rawQueryString": "a=1&b=2"`) {
			t.Errorf("curl --aws-sigv4: %q", out)
		}
		out = s.curl("--cacert", s.ca, "--resolve", resolve, "-o", "/dev/null", "-w", "%{http_code}", u)
		if out != "403" {
			t.Errorf("unsigned: %q", out)
		}
	})
	t.Run("boto3 verify=ca.pem: API and an AWS_IAM URL signed by botocore", func(t *testing.T) {
		script := `import json, sys, ssl, urllib.request, boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
endpoint, ca, url = sys.argv[1], sys.argv[2], sys.argv[3]
lam = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", verify=ca)
names = sorted(f["FunctionName"] for f in lam.list_functions()["Functions"])
fu = lam.get_function_url_config(FunctionName="iamecho")["FunctionUrl"]
sess = boto3.Session()
req = AWSRequest(method="POST", url=url, data=b'{"k": 1}', headers={"content-type": "application/json"})
SigV4Auth(sess.get_credentials(), "lambda", "us-east-1").add_auth(req)
ctx = ssl.create_default_context(cafile=ca)
r = urllib.request.Request(url, data=b'{"k": 1}', headers=dict(req.headers.items()), method="POST")
with urllib.request.urlopen(r, context=ctx) as resp:
    ev = json.loads(resp.read())
print(json.dumps({"names": names, "fu": fu, "status": resp.status, "body": ev["body"], "arn": ev["requestContext"]["authorizer"]["iam"]["userArn"]}))
`
		url := "https://127.0.0.1:" + s.tlsPort() + "/lambda-url/" + iamID + "/b"
		cmd := exec.Command("python3", "-c", script, s.tlsEndpoint(), s.ca, url)
		cmd.Env = iamEnv(s.root)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("boto3: %v\n%s", err, out)
		}
		var got struct {
			Names    []string
			FU, Body string
			Status   int
			ARN      string
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		if strings.Join(got.Names, ",") != "echo,iamecho" || got.FU != "https://127.0.0.1:"+s.tlsPort()+"/lambda-url/"+iamID+"/" || got.Status != 200 || got.Body != `{"k": 1}` || !strings.HasSuffix(got.ARN, ":root") {
			t.Errorf("boto3: %+v", got)
		}
	})
	t.Run("--http-redirect: function URLs on the plain listener get 308 to https", func(t *testing.T) {
		u, resolve := s.hostURL(id)
		out := s.curl("--resolve", resolve, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", u+"a/b?c=d")
		want := "308 https://" + id + ".lambda-url.us-east-1.localhost:" + s.tlsPort() + "/a/b?c=d"
		if out != want {
			t.Errorf("redirect: %q, want %q", out, want)
		}
		// Following it with the CA works end to end.
		out = s.curl("-L", "--cacert", s.ca, "--resolve", resolve, "--resolve", id+".lambda-url.us-east-1.localhost:"+s.tlsPort()+":127.0.0.1",
			"-o", "/dev/null", "-w", "%{http_code} %{scheme}", u+"a")
		if out != "200 HTTPS" {
			t.Errorf("followed: %q", out)
		}
		// The API on the plain listener is not redirected.
		if out := s.curl("-o", "/dev/null", "-w", "%{http_code}", s.endpoint()+"/2015-03-31/functions/"); out != "403" {
			t.Errorf("API on plain listener: %q", out)
		}
	})
	t.Run("leaves: API names and one per URL host", func(t *testing.T) {
		api := s.peerCert("localhost")
		if !containsIP(api.IPAddresses, "127.0.0.1") || !contains(api.DNSNames, "localhost") {
			t.Errorf("API certificate names %v %v", api.DNSNames, api.IPAddresses)
		}
		host := id + ".lambda-url.us-east-1.localhost"
		if leaf := s.peerCert(host); !contains(leaf.DNSNames, host) || leaf.NotAfter.Sub(leaf.NotBefore) > 8*24*time.Hour {
			t.Errorf("URL leaf %v valid %s", leaf.DNSNames, leaf.NotAfter.Sub(leaf.NotBefore))
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsIP(list []net.IP, s string) bool {
	for _, v := range list {
		if v.String() == s {
			return true
		}
	}
	return false
}

// TestTLSRenewal: leaves valid for a few seconds are replaced before they expire, while furl
// keeps running, and clients keep verifying them.
func TestTLSRenewal(t *testing.T) {
	s := tlsStart(t, "", "--tls-leaf-validity", "6s")
	pid := s.cmd.Process.Pid
	id := s.deploy("echo", "python3.12", "app.handler", map[string][]byte{"app.py": []byte(tlsEcho)}, "NONE", "")
	host := id + ".lambda-url.us-east-1.localhost"
	first := s.peerCert(host)
	firstAPI := s.peerCert("localhost")
	time.Sleep(first.NotAfter.Sub(time.Now()) - time.Second) // inside the last third of its life
	second := s.peerCert(host)
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("the URL leaf was not renewed")
	}
	if !second.NotAfter.After(first.NotAfter) {
		t.Errorf("renewed leaf expires %s, old %s", second.NotAfter, first.NotAfter)
	}
	if s.peerCert("localhost").SerialNumber.Cmp(firstAPI.SerialNumber) == 0 {
		t.Error("the API leaf was not renewed")
	}
	time.Sleep(time.Until(first.NotAfter) + time.Second) // the first leaf has expired now
	u, resolve := s.hostURLTLS(id)
	if out := s.curl("--cacert", s.ca, "--resolve", resolve, "-o", "/dev/null", "-w", "%{http_code}", u); out != "200" {
		t.Errorf("after the first leaf expired: %q", out)
	}
	if s.cmd.Process.Pid != pid {
		t.Error("restarted")
	}
	select {
	case <-s.exited:
		t.Fatal("furl exited")
	default:
	}
}

// writeRSACert writes a self-signed RSA certificate for names into dir (cert.pem, key.pem).
func writeRSACert(t *testing.T, dir, cn string, names ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	// Written beside and renamed, as a deployment tool replaces them.
	if err := os.WriteFile(certFile+".new", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile+".new", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(keyFile+".new", keyFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(certFile+".new", certFile); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestTLSUserCertSIGHUP: --tls-cert/--tls-key are served, and replaced files are picked up on
// SIGHUP within seconds without dropping the listener.
func TestTLSUserCertSIGHUP(t *testing.T) {
	dir := t.TempDir()
	names := []string{"localhost", "127.0.0.1", "*.lambda-url.us-east-1.localhost"}
	certFile, keyFile := writeRSACert(t, dir, "first", names...)
	s := tlsStart(t, certFile, "--tls-cert", certFile, "--tls-key", keyFile)
	if cn := s.peerCert("localhost").Subject.CommonName; cn != "first" {
		t.Fatalf("CN %q", cn)
	}
	first, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	writeRSACert(t, dir, "second", names...)
	second, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	// Until the reload the server still presents the first certificate: trust both while polling.
	both := filepath.Join(dir, "both.pem")
	if err := os.WriteFile(both, append(first, second...), 0o644); err != nil {
		t.Fatal(err)
	}
	s.ca = both
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if cn := s.peerCert("localhost").Subject.CommonName; cn == "second" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("certificate not reloaded within 5s of SIGHUP")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A broken replacement keeps the current certificate and the server running.
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	if cn := s.peerCert("localhost").Subject.CommonName; cn != "second" {
		t.Fatalf("after a failed reload CN %q", cn)
	}
	if !strings.Contains(s.logs.String(), "not reloaded") {
		t.Error("the failed reload was not logged")
	}
}
