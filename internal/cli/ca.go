package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/furl/furl/internal/certs"
	"github.com/furl/furl/internal/config"
	"github.com/furl/furl/internal/server"
)

// runCA prints where furl's local CA is and how to trust it, creating it when it does not
// exist yet (as the first `furl serve --tls-addr` would).
func runCA(ctx context.Context, args []string, stdio Stdio, getenv func(string) string) error {
	cfg := config.Default()
	cfg.ApplyEnv(getenv)
	fs := flag.NewFlagSet("ca", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "furl's data directory (FURL_DATA_DIR)")
	pathOnly := fs.Bool("path", false, "print only the CA certificate's path")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	ca, err := certs.OpenLocalCA(server.TLSDir(cfg.DataDir), certs.LocalCAOptions{})
	if err != nil {
		return err
	}
	p := ca.CertPath()
	if *pathOnly {
		fmt.Fprintln(stdio.Out, p)
		return nil
	}
	fmt.Fprintf(stdio.Out, `furl's local CA: %s
  subject     %s
  valid until %s
  SPKI sha256 %s

Trust it to use furl over https (furl serve --tls-addr):
  curl           curl --cacert %[1]s https://localhost:9443/...
  AWS CLI, SDKs  export AWS_CA_BUNDLE=%[1]s   (or: aws --ca-bundle %[1]s ...)
  boto3          boto3.client("lambda", endpoint_url="https://localhost:9443", verify="%[1]s")
  Python         export REQUESTS_CA_BUNDLE=%[1]s SSL_CERT_FILE=%[1]s
  Node.js        export NODE_EXTRA_CA_CERTS=%[1]s
  system store   Debian/Ubuntu: sudo cp %[1]s /usr/local/share/ca-certificates/furl-local-ca.crt && sudo update-ca-certificates
                 Fedora/RHEL:   sudo cp %[1]s /etc/pki/ca-trust/source/anchors/furl-local-ca.pem && sudo update-ca-trust
                 macOS:         sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain %[1]s
  browser        Chrome/Chromium: Settings > Privacy and security > Security > Manage certificates > Authorities > Import
                 Firefox: Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import
                 (or for a throwaway Chromium: --ignore-certificate-errors-spki-list=%[4]s)
The CA's private key (ca-key.pem beside it) stays 0600; anyone holding it can impersonate any site to
whoever trusts this CA, so trust it only on machines you control.
`, p, ca.Certificate().Subject.CommonName, ca.Certificate().NotAfter.UTC().Format("2006-01-02"), certs.SPKIHash(ca.Certificate()))
	return nil
}
