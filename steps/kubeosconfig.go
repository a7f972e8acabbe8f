package steps

import (
	"context"
	"net/url"
	"strings"

	"github.com/heatstrap/heatstrap/config"
)

const kubeOsConfig = "/etc/sysconfig/kube_openstack_config"

// writeKubeOsConfig writes the OpenStack cloud-provider config (spec M5).
// It is inert unless an operator turns the cloud provider on in the
// apiserver and controller-manager configs.
//
// Deliberate differences from Mitaka:
//   - 0600 root:root from the first byte: it holds PASSWORD, and Mitaka's
//     world-readable 0644 file was part of CVE-2016-7404 (spec §9.2);
//   - values are double-quoted with gcfg escapes, so a quote, ";", "#",
//     "$(...)" or a backtick stays literal text (Mitaka pasted them raw);
//   - AUTH_URL's trailing "/v3" becomes "/v2.0" (see keystoneV2).
var writeKubeOsConfig = Step{
	Name:    "write-kube-os-config",
	Summary: "OpenStack cloud-provider config, 0600 (it holds PASSWORD)",
	Reads:   []config.Key{config.AuthURL, config.Username, config.Password, config.TenantName, config.ClusterSubnet},
	Run: func(_ context.Context, e *Env) error {
		p := e.Params
		data := struct{ AuthURL, Username, Password, TenantName, Subnet string }{
			AuthURL:    keystoneV2(p.AuthURL),
			Username:   p.Username,
			Password:   p.Password.Reveal(), // into the 0600 file only
			TenantName: p.TenantName,
			Subnet:     p.ClusterSubnet,
		}
		return e.writeFiles(file{path: kubeOsConfig, template: "kube_openstack_config", data: data, mode: 0o600, owner: "root", group: "root"})
	},
}

// keystoneV2 points a Keystone v3 URL at v2.0, the only identity API the
// Kubernetes 1.0 cloud provider speaks. Mitaka's ${AUTH_URL/v3/v2} replaced
// the first "v3" anywhere (a host name such as v3.example.com included) and
// produced ".../v2", which is not a Keystone endpoint (spec §9.8). Here only
// a trailing "/v3" path segment is replaced; other URLs are left alone.
func keystoneV2(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || !(strings.HasSuffix(u.Path, "/v3") || strings.HasSuffix(u.Path, "/v3/")) {
		return raw
	}
	// Edit the text, not u.String(), so nothing else is re-encoded. The
	// path is the part before the query or fragment.
	end := strings.IndexAny(raw, "?#")
	if end < 0 {
		end = len(raw)
	}
	base, rest := raw[:end], raw[end:]
	slash := strings.HasSuffix(base, "/")
	base = strings.TrimSuffix(base, "/")
	if !strings.HasSuffix(base, "/v3") {
		return raw // the path was spelled with escapes; leave it
	}
	base = strings.TrimSuffix(base, "/v3") + "/v2.0"
	if slash {
		base += "/"
	}
	return base + rest
}
