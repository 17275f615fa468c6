package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// Client calls the admin API, over the unix socket of a running server
// (Dial) or on handlers served in-process (InProcess). Close it when done.
type Client struct {
	http   *http.Client
	close  func() error
	remote bool // a running server's, over its socket
}

// Remote reports whether c talks to a running server (Dial), not to
// handlers served in this process.
func (c *Client) Remote() bool { return c.remote }

// Dial returns a client for the server answering the socket sock, after
// asking it who it is; an error means no server answers there.
func Dial(ctx context.Context, sock string) (*Client, Ping, error) {
	c := &Client{http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}, close: func() error { return nil }, remote: true}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	p, err := c.Ping(pctx)
	if err != nil {
		c.http.CloseIdleConnections()
		return nil, Ping{}, err
	}
	return c, p, nil
}

// InProcess returns a client for h served in this process, on an
// in-memory listener; Close stops serving and then calls closeFn (which
// closes what h serves from), when not nil.
func InProcess(h fasthttp.RequestHandler, closeFn func() error) *Client {
	ln := fasthttputil.NewInmemoryListener()
	s := &fasthttp.Server{Handler: h, MaxRequestBodySize: MaxRequestBodySize}
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) { return ln.Dial() },
	}}
	return &Client{http: hc, close: func() error {
		hc.CloseIdleConnections()
		err := s.Shutdown()
		ln.Close()
		<-done
		if closeFn != nil {
			err = errors.Join(err, closeFn())
		}
		return err
	}}
}

// Close ends the client and, in-process, what it serves.
func (c *Client) Close() error { return c.close() }

// Ping asks the server who it is.
func (c *Client) Ping(ctx context.Context) (Ping, error) {
	return call[Ping](ctx, c, "GET", PathPing, nil)
}

// Backup streams a consistent archive of the store; the caller closes it
// and verifies what it read (a failure mid-stream ends the archive short).
func (c *Client) Backup(ctx context.Context) (io.ReadCloser, error) {
	resp, err := c.do(ctx, "GET", PathBackup, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var env struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &env) == nil && env.Error != "" {
			return nil, &Refusal{Status: resp.StatusCode, Msg: env.Error} // the server's message
		}
		return nil, fmt.Errorf("%s: %s", resp.Status, b)
	}
	return resp.Body, nil
}

// Sites lists the sites.
func (c *Client) Sites(ctx context.Context) ([]Site, error) {
	return call[[]Site](ctx, c, "GET", PathSites, nil)
}

// AddSite adds a site.
func (c *Client) AddSite(ctx context.Context, in AddSite) (Site, error) {
	return call[Site](ctx, c, "POST", PathSites, in)
}

// SetOrigin sets where a site takes page views from.
func (c *Client) SetOrigin(ctx context.Context, in SetOrigin) (Site, error) {
	return call[Site](ctx, c, "POST", PathSiteOrigin, in)
}

// SetTimeZone sets the zone of a site's days and hours.
func (c *Client) SetTimeZone(ctx context.Context, in SetTimeZone) (Site, error) {
	return call[Site](ctx, c, "POST", PathSiteTimeZone, in)
}

// AddUser adds a dashboard user.
func (c *Client) AddUser(ctx context.Context, in AddUser) (User, error) {
	return call[User](ctx, c, "POST", PathUsers, in)
}

// SetPassword sets a user's password and signs them out everywhere.
func (c *Client) SetPassword(ctx context.Context, in SetPassword) (User, error) {
	return call[User](ctx, c, "POST", PathPassword, in)
}

// Logout signs a user out of every browser.
func (c *Client) Logout(ctx context.Context, in Logout) (User, error) {
	return call[User](ctx, c, "POST", PathLogout, in)
}

// AddToken makes an API token.
func (c *Client) AddToken(ctx context.Context, in AddToken) (Token, error) {
	return call[Token](ctx, c, "POST", PathTokens, in)
}

// Webhooks lists the webhook endpoints of the site with the key site.
func (c *Client) Webhooks(ctx context.Context, site string) ([]Endpoint, error) {
	return call[[]Endpoint](ctx, c, "GET", sitePath(PathWebhooks, site), nil)
}

// AddWebhook adds a webhook endpoint.
func (c *Client) AddWebhook(ctx context.Context, in AddWebhook) (Endpoint, error) {
	return call[Endpoint](ctx, c, "POST", PathWebhooks, in)
}

// RemoveWebhook removes a webhook endpoint.
func (c *Client) RemoveWebhook(ctx context.Context, in RemoveWebhook) (Removed, error) {
	return call[Removed](ctx, c, "POST", PathRemoveWebhook, in)
}

// ChangeWebhook changes a webhook endpoint.
func (c *Client) ChangeWebhook(ctx context.Context, in ChangeWebhook) (Endpoint, error) {
	return call[Endpoint](ctx, c, "POST", PathChangeWebhook, in)
}

// SetCallbacks changes a site's callback settings.
func (c *Client) SetCallbacks(ctx context.Context, in SetCallbacks) (CallbackSettings, error) {
	return call[CallbackSettings](ctx, c, "POST", PathCallbacks, in)
}

// Numbers reads the call-tracking set-up of the site with the key site.
func (c *Client) Numbers(ctx context.Context, site string) (Numbers, error) {
	return call[Numbers](ctx, c, "GET", sitePath(PathNumbers, site), nil)
}

// SetSiteNumbers replaces a site's own numbers or selectors.
func (c *Client) SetSiteNumbers(ctx context.Context, in SetSiteNumbers) (Numbers, error) {
	return call[Numbers](ctx, c, "POST", PathSiteNumbers, in)
}

// AddStatic adds or changes a static number.
func (c *Client) AddStatic(ctx context.Context, in AddStatic) (Static, error) {
	return call[Static](ctx, c, "POST", PathStatic, in)
}

// RemoveStatic removes a static number.
func (c *Client) RemoveStatic(ctx context.Context, in RemoveStatic) error {
	_, err := call[struct{}](ctx, c, "POST", PathRemoveStatic, in)
	return err
}

// AddPool adds a dynamic pool.
func (c *Client) AddPool(ctx context.Context, in PoolRequest) (Pool, error) {
	return call[Pool](ctx, c, "POST", PathPool, in)
}

// EditPool changes a dynamic pool.
func (c *Client) EditPool(ctx context.Context, in PoolRequest) (Pool, error) {
	return call[Pool](ctx, c, "POST", PathEditPool, in)
}

// RemovePool removes a dynamic pool.
func (c *Client) RemovePool(ctx context.Context, in RemovePool) error {
	_, err := call[struct{}](ctx, c, "POST", PathRemovePool, in)
	return err
}

// Import adds the numbers of an import file to a pool, calling progress
// (when not nil) with the bytes of the file the server has read, of how
// many, as it parses them.
func (c *Client) Import(ctx context.Context, in Import, progress func(done, total int64)) (ImportResult, error) {
	return callProgress[ImportResult](ctx, c, "POST", PathImport, in, progress)
}

func sitePath(path, site string) string {
	return path + "?" + SiteQuery + "=" + url.QueryEscape(site)
}

// call sends in (nil: no body) as JSON and decodes the result of the
// answer; an unsuccessful answer is an error with the server's message.
func call[Out any](ctx context.Context, c *Client, method, path string, in any) (Out, error) {
	var out Out
	resp, err := c.do(ctx, method, path, in)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return out, err
	}
	return decodeAnswer[Out](path, resp.Status, resp.StatusCode, body)
}

// Refusal is an answer of the server that refused a call: its message,
// and the HTTP status it answered with (as the server answers every
// error: 400 a request it cannot take, 404 what is not there, 409 a
// conflict, 422 a file the request carries whose content it cannot take
// (Import, ImportCosts)...). A streamed answer (Import, Rebuild,
// ExportBackfill) has sent its status before its work failed: its last
// line says the status of its refusal (StreamedStatus).
type Refusal struct {
	Status int
	Msg    string
}

func (r *Refusal) Error() string { return r.Msg }

// Invalid reports whether the server refused a value of the request: the
// message says which and what it takes. A command makes its request from
// its flags and arguments (or from a file it read, see the command).
func (r *Refusal) Invalid() bool { return r.Status == http.StatusBadRequest }

// decodeAnswer decodes the result of an answer's JSON envelope; an
// unsuccessful answer is a *Refusal: the server's message and the
// answer's HTTP status (code).
func decodeAnswer[Out any](path, status string, code int, body []byte) (Out, error) {
	var out Out
	var env struct {
		Success bool            `json:"success"`
		Result  json.RawMessage `json:"result"`
		Error   string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return out, fmt.Errorf("admin %s: bad answer (%s): %w", path, status, err)
	}
	if !env.Success {
		return out, &Refusal{Status: code, Msg: env.Error}
	}
	if len(env.Result) > 0 && !bytes.Equal(env.Result, []byte("null")) {
		if err := json.Unmarshal(env.Result, &out); err != nil {
			return out, fmt.Errorf("admin %s: bad answer: %w", path, err)
		}
	}
	return out, nil
}

func (c *Client) do(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://admin"+path, body)
	if err != nil {
		return nil, err
	}
	return c.http.Do(req)
}

// ExportBackfill replays a site's records into the event stream;
// progress, when not nil, is called with how many of the site's records
// (sessions, leads, callbacks, calls and chats) the server has queued, of
// how many, as it goes.
func (c *Client) ExportBackfill(ctx context.Context, in ExportBackfill, progress func(done, total int64)) (ExportBackfilled, error) {
	return callProgress[ExportBackfilled](ctx, c, "POST", PathExportBackfill, in, progress)
}

// Rebuild recomputes a site's report roll-ups from its raw records;
// progress, when not nil, is called as the server reports how far it is.
func (c *Client) Rebuild(ctx context.Context, in Rebuild, progress func(done, total int64)) (Rebuilt, error) {
	return callProgress[Rebuilt](ctx, c, "POST", PathRebuild, in, progress)
}

// callProgress is call for an answer that streams lines of Progress before
// the line of its result, calling progress (when not nil) with each.
func callProgress[Out any](ctx context.Context, c *Client, method, path string, in any, progress func(done, total int64)) (Out, error) {
	var out Out
	resp, err := c.do(ctx, method, path, in)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 8<<20)
	var last []byte
	for sc.Scan() {
		line := sc.Bytes()
		var p Progress
		if bytes.HasPrefix(line, []byte(`{"progress":`)) && json.Unmarshal(line, &p) == nil {
			if progress != nil {
				progress(p.Progress.Done, p.Progress.Total)
			}
			continue
		}
		last = bytes.Clone(line)
	}
	if err := sc.Err(); err != nil {
		return out, err
	}
	code := resp.StatusCode
	var st StreamedStatus
	if json.Unmarshal(last, &st) == nil && st.Status != 0 {
		code = st.Status // a refusal's own status, sent after the answer's
	}
	return decodeAnswer[Out](path, resp.Status, code, last)
}

// Prune deletes (or, dry, counts) what is past the sites' retention.
func (c *Client) Prune(ctx context.Context, in Prune) (Pruned, error) {
	return call[Pruned](ctx, c, "POST", PathPrune, in)
}

// ImportCosts stores the ad costs of a cost file for a site.
func (c *Client) ImportCosts(ctx context.Context, in ImportCosts) (CostsImported, error) {
	return call[CostsImported](ctx, c, "POST", PathCosts, in)
}
