package helper

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/heatstrap/heatstrap/httpclient"
)

// etcdPutFunc writes one key on one endpoint, once. A nil error means
// etcd acknowledged the write; a permanent error means retrying cannot
// help; anything else is "not up yet".
type etcdPutFunc func(ctx context.Context, c *retryablehttp.Client, endpoint, key string, value []byte) error

func etcdPut(api string) (etcdPutFunc, error) {
	switch api {
	case "v3":
		return putV3, nil
	case "v2":
		return putV2, nil
	}
	return nil, fmt.Errorf("etcd API %q: must be v3 or v2", api)
}

// putV3 uses etcd's v3 JSON gateway (grpc-gateway, on the client URL, on
// by default since etcd 3.4): POST /v3/kv/put with base64 key and value.
// It is deliberately not clientv3: the client library would pull gRPC,
// protobuf and zap into the static agent for a single put, and the
// gateway needs nothing but HTTP, which goes through httpclient like every
// other call (same CA bundle, same retry rules).
func putV3(ctx context.Context, c *retryablehttp.Client, endpoint, key string, value []byte) error {
	body, err := json.Marshal(map[string]string{
		"key":   base64.StdEncoding.EncodeToString([]byte(key)),
		"value": base64.StdEncoding.EncodeToString(value),
	})
	if err != nil {
		return permanent(err)
	}
	u, err := httpURL(endpoint)
	if err != nil {
		return permanent(err)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, u.JoinPath("v3", "kv", "put").String(), body)
	if err != nil {
		return permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return doEtcd(c, req, "this etcd serves no v3 JSON gateway at /v3 (older than 3.4, or started with --enable-grpc-gateway=false); use --etcd-api v2 for an etcd 2.x/3.3")
}

// putV2 is Mitaka's exact call (spec M12): PUT /v2/keys<key> with the form
// field value=<json>, an unconditional overwrite. etcd 3.4+ serves v2 only
// with --enable-v2, and 3.6+ not at all.
func putV2(ctx context.Context, c *retryablehttp.Client, endpoint, key string, value []byte) error {
	u, err := httpURL(endpoint)
	if err != nil {
		return permanent(err)
	}
	form := url.Values{"value": {string(value)}}.Encode()
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPut, u.JoinPath("v2", "keys", key).String(), []byte(form))
	if err != nil {
		return permanent(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return doEtcd(c, req, "this etcd does not serve the v2 keys API (etcd 3.4+ disables it, 3.6+ removed it); use --etcd-api v3, with a flanneld that reads the v3 keyspace")
}

// doEtcd sends one request and classifies the answer: 2xx done; 5xx, 429
// and connection errors "not up yet" (etcd without a leader answers 503
// through the gateway); any other status is permanent, and a 404 carries
// hint404 because it nearly always means the wrong API for this etcd.
func doEtcd(c *retryablehttp.Client, req *retryablehttp.Request, hint404 string) error {
	resp, err := c.Do(req)
	if err != nil {
		return transportError(err)
	}
	defer resp.Body.Close()
	body := readBody(resp)
	if ok2xx(resp.StatusCode) {
		return nil
	}
	se := &httpclient.StatusError{Method: req.Method, URL: req.URL.String(), Code: resp.StatusCode, Body: etcdMessage(body)}
	switch {
	case httpclient.Retryable(resp.StatusCode):
		return se
	case resp.StatusCode == http.StatusNotFound:
		return permanent(fmt.Errorf("%w (%s)", se, hint404))
	default:
		return permanent(se)
	}
}

// etcdMessage extracts the error text of a gateway answer
// ({"error":…,"code":14,"message":…}) or a v2 one ({"message":…,"cause":…});
// anything else is shown as a snippet.
func etcdMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
		Error   string `json:"error"`
		Cause   string `json:"cause"`
	}
	if json.Unmarshal(body, &m) == nil {
		msg := m.Message
		if msg == "" {
			msg = m.Error
		}
		if m.Cause != "" {
			msg += " (" + m.Cause + ")"
		}
		if msg != "" {
			return msg
		}
	}
	return snippet(body)
}
