package steps

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/internal/pemcert"
)

// The files of spec §5.1/§5.2 and §8: everything in /srv/kubernetes is
// kube:kube, the key 0400, the rest 0644, conf/ 0755, the directory 0500.
const (
	srvDir         = "/srv/kubernetes"
	certConfDir    = srvDir + "/conf"
	caCertPath     = srvDir + "/ca.crt"
	kubeconfigPath = srvDir + "/kubeconfig.yaml"
	certOwner      = "kube"
)

func (p certProfile) keyPath() string  { return srvDir + "/" + p.stem + ".key" }
func (p certProfile) csrPath() string  { return srvDir + "/" + p.stem + ".csr" }
func (p certProfile) certPath() string { return srvDir + "/" + p.stem + ".crt" }
func (p certProfile) confPath() string { return certConfDir + "/" + p.stem + ".conf" }

// ensureCertDirs makes /srv/kubernetes 0500 kube:kube before the key goes
// in (Mitaka set that only at the end) and conf/ 0755 kube:kube.
func ensureCertDirs(e *Env) error {
	if _, err := e.Files.EnsureDir(srvDir, 0o500, certOwner, certOwner); err != nil {
		return err
	}
	_, err := e.Files.EnsureDir(certConfDir, 0o755, certOwner, certOwner)
	return err
}

func writeCertFile(e *Env, path string, data []byte, mode fs.FileMode) error {
	_, err := e.Files.WriteFile(hostfs.File{Path: path, Data: data, Mode: mode, Owner: certOwner, Group: certOwner})
	return err
}

// writeReqConf records the request in openssl syntax (conf/<stem>.conf).
func writeReqConf(e *Env, p certProfile, sans []san, alg string) error {
	data := struct {
		Path, Key, CN, KeyUsage, ExtKeyUsage string
		SANs                                 []string
		Sections                             []struct{ Name, CN string }
	}{Path: p.confPath(), Key: alg, CN: p.commonName, KeyUsage: keyUsageText(alg)}
	for _, u := range p.extKeyUsage {
		data.ExtKeyUsage = strings.TrimPrefix(data.ExtKeyUsage+","+ekuName[u], ",")
	}
	for _, s := range sans {
		if err := checkValue("SAN", s.value); err != nil {
			return err
		}
		if cn, ok := strings.CutPrefix(s.value, "CN="); ok && s.kind == "dirName" {
			// openssl names a section holding the DN: dirName:kubeproxy.
			name := strings.ReplaceAll(cn, "-", "")
			data.SANs = append(data.SANs, "dirName:"+name)
			data.Sections = append(data.Sections, struct{ Name, CN string }{name, cn})
			continue
		}
		data.SANs = append(data.SANs, s.String())
	}
	return e.writeFiles(file{path: p.confPath(), template: "cert-req.conf", data: data, mode: 0o644, owner: certOwner, group: certOwner})
}

// loadMaterial reads what a previous run left; any gap is an error that
// names the file, never what is in it.
func loadMaterial(e *Env, p certProfile) (material, error) {
	var m material
	read := func(path string, parse func([]byte) error) error {
		data, err := e.Files.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("no %s yet", path)
		case err != nil:
			return fmt.Errorf("cannot read %s", path)
		}
		if err := parse(data); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	var probs []string
	for _, err := range []error{
		read(caCertPath, func(b []byte) (err error) { m.cas, err = pemcert.Parse(b); return err }),
		read(p.keyPath(), func(b []byte) (err error) { m.key, err = parseKey(b); return err }),
		read(p.certPath(), func(b []byte) error {
			certs, err := pemcert.Parse(b)
			if err == nil {
				m.cert = certs[0]
			}
			return err
		}),
	} {
		if err != nil {
			probs = append(probs, err.Error())
		}
	}
	return m, joinProblems(probs)
}

func certsPEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// writeMaterial stores a verified issue. Each file is atomic (temp file,
// final owner and mode, rename), so a failed run leaves the old set or
// none, never half a file; the key is 0400 kube:kube from birth.
func writeMaterial(e *Env, p certProfile, m material, csrDER []byte) error {
	key, err := marshalKey(m.key)
	if err != nil {
		return err
	}
	csr := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})
	for _, f := range []struct {
		path string
		data []byte
		mode fs.FileMode
	}{
		{p.keyPath(), key, 0o400},
		{p.csrPath(), csr, 0o644},
		{p.certPath(), certsPEM(m.cert), 0o644},
		{caCertPath, certsPEM(m.cas...), 0o644},
	} {
		if err := writeCertFile(e, f.path, f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// ensureCSR rewrites a lost CSR from the kept key, without re-issuing.
func ensureCSR(e *Env, p certProfile, key crypto.Signer, sans []san) error {
	if e.Files.Exists(p.csrPath()) {
		_, err := e.Files.SetMeta(p.csrPath(), 0o644, certOwner, certOwner)
		return err
	}
	der, err := newCSR(key, p, sans)
	if err != nil {
		return err
	}
	return writeCertFile(e, p.csrPath(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o644)
}

// settleCertFiles converges owner and mode of every file of the table
// (a rerun repairs a chmod) and seals the directory.
func settleCertFiles(e *Env, p certProfile) error {
	for _, f := range []struct {
		path string
		mode fs.FileMode
	}{{p.keyPath(), 0o400}, {p.certPath(), 0o644}, {caCertPath, 0o644}} {
		if _, err := e.Files.SetMeta(f.path, f.mode, certOwner, certOwner); err != nil {
			return err
		}
	}
	return ensureCertDirs(e)
}

// kubeconfigPlaceholders are Mitaka's write-kubeconfig literals and the
// fields they stand in (spec N4, §5.2).
var kubeconfigPlaceholders = map[string][2]string{
	"certificate-authority": {"CA_CERT", caCertPath},
	"client-certificate":    {"CLIENT_CERT", srvDir + "/client.crt"},
	"client-key":            {"CLIENT_KEY", srvDir + "/client.key"},
}

// fixKubeconfig replaces the placeholders an older kubeconfig.yaml may
// still hold, rewriting the whole file (Mitaka sed-edited it in place),
// and makes it kube:kube as Mitaka's chown -R did. A missing file is the
// write-kubeconfig step's business.
func fixKubeconfig(e *Env) error {
	data, err := e.Files.ReadFile(kubeconfigPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	out, changed, err := replacePlaceholders(data)
	if err != nil {
		return fmt.Errorf("%s: %w", kubeconfigPath, err)
	}
	if changed {
		e.Log.Info("replaced the Mitaka certificate placeholders in the kubeconfig", "path", kubeconfigPath)
		return writeCertFile(e, kubeconfigPath, out, 0o644)
	}
	_, err = e.Files.SetMeta(kubeconfigPath, 0o644, certOwner, certOwner)
	return err
}

// replacePlaceholders sets a field to its path only where its whole value
// is the placeholder, so no other text can be hit.
func replacePlaceholders(data []byte) ([]byte, bool, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, false, err
	}
	changed := false
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if ph, ok := kubeconfigPlaceholders[k.Value]; ok && v.Kind == yaml.ScalarNode && v.Value == ph[0] {
					v.Value, v.Style, v.Tag = ph[1], 0, "!!str"
					changed = true
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	if !changed {
		return data, false, nil
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, false, err
	}
	if err := enc.Close(); err != nil {
		return nil, false, err
	}
	return b.Bytes(), true, nil
}
