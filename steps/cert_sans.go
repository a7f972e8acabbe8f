package steps

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/heatstrap/heatstrap/httpclient"
)

// san is one subjectAltName entry, written as openssl prints it.
type san struct {
	kind  string // "IP", "DNS" or "dirName"
	value string // address, name, or an RDN such as "CN=kubelet"
}

func (s san) String() string { return s.kind + ":" + s.value }

func ipSAN(a netip.Addr) san { return san{"IP", a.Unmap().String()} }

// hostSAN is an IP SAN for an address and a DNS SAN for a name: the
// KUBE_API_*_ADDRESS keys may hold either (config.KindHost).
func hostSAN(h string) san {
	if a, err := netip.ParseAddr(h); err == nil {
		return ipSAN(a)
	}
	return san{"DNS", strings.ToLower(h)}
}

// sanSet keeps SANs in first-seen order without duplicates or empties:
// Mitaka's list could hold an empty "IP:" and then openssl failed (§9.5).
type sanSet []san

func (s *sanSet) add(x san) {
	if x.value == "" {
		return
	}
	for _, y := range *s {
		if y == x {
			return
		}
	}
	*s = append(*s, x)
}

// kubernetesNames are what in-cluster clients and kubectl call the API.
var kubernetesNames = []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}

// masterSANs is Mitaka's list (metadata public IPv4, both API addresses,
// 127.0.0.1; spec §5.1 "SANs") plus what §9.5 found missing: the node IP,
// the kubernetes service IP, the hostname and the kubernetes* names.
func masterSANs(ctx context.Context, e *Env) []san {
	p := e.Params
	var s sanSet
	if ip, ok := metadataPublicIPv4(ctx, e); ok {
		s.add(ipSAN(ip))
	}
	s.add(hostSAN(p.KubeAPIPublicAddress))
	s.add(hostSAN(p.KubeAPIPrivateAddress))
	if p.KubeNodeIP.IsValid() {
		s.add(ipSAN(p.KubeNodeIP))
	}
	s.add(ipSAN(netip.MustParseAddr("127.0.0.1")))
	if p.PortalNetworkCIDR.IsValid() {
		// The apiserver's service IP is the first address of the range.
		s.add(ipSAN(p.PortalNetworkCIDR.Masked().Addr().Next()))
	}
	s.add(san{"DNS", hostname(e)})
	for _, n := range kubernetesNames {
		s.add(san{"DNS", n})
	}
	return s
}

// minionSANs are Mitaka's client identities dirName:kubelet and
// dirName:kubeproxy (spec §5.2), kept as they were.
func minionSANs() []san {
	return []san{{"dirName", "CN=kubelet"}, {"dirName", "CN=kube-proxy"}}
}

// metadataDeadline bounds the metadata lookup: off OpenStack (or with the
// EC2 API disabled) it never answers, and the SAN is then simply left out.
const metadataDeadline = 2 * time.Second

// metadataPublicIPv4 is Mitaka's `curl 169.254.169.254/latest/meta-data/
// public-ipv4`, with a deadline and without ever yielding an empty SAN.
func metadataPublicIPv4(ctx context.Context, e *Env) (netip.Addr, bool) {
	base := strings.TrimRight(e.Settings.MetadataURL, "/")
	if base == "" || e.HTTP == nil {
		return netip.Addr{}, false
	}
	url := base + "/latest/meta-data/public-ipv4"
	ip, err := func() (netip.Addr, error) {
		hc, err := e.HTTP(httpclient.Options{AttemptTimeout: metadataDeadline, RetryMax: -1, Logger: e.Log})
		if err != nil {
			return netip.Addr{}, err
		}
		ctx, cancel := context.WithTimeout(ctx, metadataDeadline)
		defer cancel()
		req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return netip.Addr{}, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return netip.Addr{}, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64))
		if err != nil {
			return netip.Addr{}, err
		}
		if resp.StatusCode != http.StatusOK {
			return netip.Addr{}, fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		ip, err := netip.ParseAddr(strings.TrimSpace(string(body)))
		if err != nil || !ip.Is4() {
			return netip.Addr{}, fmt.Errorf("answer %q is not an IPv4 address", strings.TrimSpace(string(body)))
		}
		return ip, nil
	}()
	if err != nil {
		e.Log.Info("no public IPv4 from the metadata service; no SAN for it", "url", url, "error", err)
		return netip.Addr{}, false
	}
	return ip, true
}

var dnsName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

// hostname is the node's name: the kernel's on a live node, the image's
// /etc/hostname offline. A name that is not a valid DNS name is left out.
func hostname(e *Env) string {
	var h string
	if e.Live {
		h, _ = os.Hostname()
	} else if b, err := e.Files.ReadFile("/etc/hostname"); err == nil {
		h, _, _ = strings.Cut(string(b), "\n")
	}
	h = strings.ToLower(strings.TrimSpace(h))
	if h != "" && (len(h) > 253 || !dnsName.MatchString(h)) {
		e.Log.Warn("hostname is not a valid DNS name; no SAN for it", "hostname", h)
		return ""
	}
	return h
}

// marshalSANs encodes GeneralNames by hand: Go's CSR template cannot
// express directoryName entries (spec §5.2 dirName:kubelet).
func marshalSANs(sans []san) ([]byte, error) {
	var names []asn1.RawValue
	for _, s := range sans {
		switch s.kind {
		case "IP":
			a, err := netip.ParseAddr(s.value)
			if err != nil {
				return nil, err
			}
			names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 7, Bytes: a.AsSlice()})
		case "DNS":
			names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(s.value)})
		case "dirName":
			cn, ok := strings.CutPrefix(s.value, "CN=")
			if !ok {
				return nil, fmt.Errorf("dirName %q: only CN=... is supported", s.value)
			}
			der, err := asn1.Marshal(pkix.Name{CommonName: cn}.ToRDNSequence())
			if err != nil {
				return nil, err
			}
			names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: der})
		default:
			return nil, fmt.Errorf("unknown SAN kind %q", s.kind)
		}
	}
	return asn1.Marshal(names)
}

// sansOf reads a certificate's SANs, directoryName entries included
// (crypto/x509 skips those).
func sansOf(c *x509.Certificate) ([]san, error) {
	var out []san
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		var seq asn1.RawValue
		if _, err := asn1.Unmarshal(ext.Value, &seq); err != nil || seq.Tag != asn1.TagSequence {
			return nil, errors.New("malformed subjectAltName")
		}
		for rest := seq.Bytes; len(rest) > 0; {
			var v asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &v); err != nil {
				return nil, errors.New("malformed subjectAltName")
			}
			if v.Class != asn1.ClassContextSpecific {
				continue
			}
			switch v.Tag {
			case 2:
				out = append(out, san{"DNS", strings.ToLower(string(v.Bytes))})
			case 7:
				if a, ok := netip.AddrFromSlice(v.Bytes); ok {
					out = append(out, ipSAN(a))
				}
			case 4:
				var rdn pkix.RDNSequence
				if _, err := asn1.Unmarshal(v.Bytes, &rdn); err != nil {
					return nil, errors.New("malformed directoryName in subjectAltName")
				}
				var n pkix.Name
				n.FillFromRDNSequence(&rdn)
				out = append(out, san{"dirName", n.String()})
			}
		}
	}
	return out, nil
}
