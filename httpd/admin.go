package httpd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"time"

	"github.com/valyala/fasthttp"

	"appliance/httpd/accounts"
	"appliance/store"
)

// ok is the success shape of every JSON answer.
type ok struct {
	Success bool `json:"success"`
	Result  any  `json:"result"`
}

func writeOK(ctx *fasthttp.RequestCtx, result any) {
	writeJSON(ctx, fasthttp.StatusOK, ok{Success: true, Result: result})
}

// decodeJSON decodes the request body into v, refusing unknown fields.
func decodeJSON(ctx *fasthttp.RequestCtx, v any) error {
	dec := json.NewDecoder(bytes.NewReader(ctx.PostBody()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(fasthttp.StatusBadRequest, "bad JSON body: %v", err)
	}
	return nil
}

func (s *Server) adminPing(ctx *fasthttp.RequestCtx) error {
	writeOK(ctx, map[string]any{"pid": os.Getpid(), "version": s.opts.Version, "public_url": s.PublicURL()})
	return nil
}

// adminBackup streams a consistent archive of the live store. A failure
// mid-stream can no longer change the status, so the archive ends short and
// the CLI, which verifies what it received, reports it.
func (s *Server) adminBackup(ctx *fasthttp.RequestCtx) error {
	ctx.SetContentType("application/x-tar")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		if err := s.db.Backup(ctx, w); err != nil {
			s.log.Error("backup failed", "err", err)
			return
		}
		if err := w.Flush(); err != nil {
			s.log.Error("backup failed", "err", err)
		}
	})
	return nil
}

// SiteInfo is a site as the admin API and CLI show it (no secret).
type SiteInfo struct {
	ID          uint32    `json:"id"`
	Key         string    `json:"site_key"`
	Name        string    `json:"name"`
	Domains     []string  `json:"domains"`
	AnyOrigin   bool      `json:"any_origin"` // takes hits from pages on any domain
	Created     time.Time `json:"created"`
	InstallCode string    `json:"install_code"`
}

func (s *Server) siteInfo(site *store.Site) SiteInfo {
	return SiteInfo{ID: site.ID, Key: site.Key, Name: site.Name, Domains: site.Domains, AnyOrigin: site.AnyOrigin,
		Created: time.UnixMilli(site.Created).UTC(), InstallCode: s.InstallCode(site.Key)}
}

func (s *Server) adminListSites(ctx *fasthttp.RequestCtx) error {
	out := []SiteInfo{}
	for _, site := range s.sites.List() {
		out = append(out, s.siteInfo(site))
	}
	writeOK(ctx, out)
	return nil
}

func (s *Server) adminAddSite(ctx *fasthttp.RequestCtx) error {
	var in struct {
		Name      string   `json:"name"`
		Domains   []string `json:"domains"`
		AnyOrigin bool     `json:"any_origin"`
	}
	if err := decodeJSON(ctx, &in); err != nil {
		return err
	}
	site, err := s.sites.Create(ctx, in.Name, in.Domains)
	if err != nil {
		return err
	}
	if in.AnyOrigin {
		if site, err = s.sites.SetAnyOrigin(ctx, site.Key, true); err != nil {
			return err
		}
	}
	writeOK(ctx, s.siteInfo(site))
	return nil
}

// adminSetOrigin sets whether a site takes hits from pages on any domain.
func (s *Server) adminSetOrigin(ctx *fasthttp.RequestCtx) error {
	var in struct {
		SiteKey   string `json:"site_key"`
		AnyOrigin *bool  `json:"any_origin"`
	}
	if err := decodeJSON(ctx, &in); err != nil {
		return err
	}
	if in.AnyOrigin == nil {
		return errorf(fasthttp.StatusBadRequest, "any_origin (true or false) is required")
	}
	site, err := s.sites.SetAnyOrigin(ctx, in.SiteKey, *in.AnyOrigin)
	if err != nil {
		return err
	}
	writeOK(ctx, s.siteInfo(site))
	return nil
}

func (s *Server) adminAddUser(ctx *fasthttp.RequestCtx) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Role     string `json:"role"`
	}
	if err := decodeJSON(ctx, &in); err != nil {
		return err
	}
	if in.Role == "" {
		has, err := s.accounts.HasUsers(ctx)
		if err != nil {
			return err
		}
		in.Role = accounts.RoleOperator
		if !has {
			in.Role = accounts.RoleOwner
		}
	}
	u, err := s.accounts.CreateUser(ctx, in.Email, in.Password, in.Role)
	if err != nil {
		return err
	}
	writeOK(ctx, map[string]string{"email": u.Email, "role": u.Role})
	return nil
}

func (s *Server) adminSetPassword(ctx *fasthttp.RequestCtx) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(ctx, &in); err != nil {
		return err
	}
	if err := s.accounts.SetPassword(ctx, in.Email, in.Password); err != nil {
		return err
	}
	writeOK(ctx, map[string]string{"email": in.Email})
	return nil
}

// adminEndSessions signs a user out everywhere.
func (s *Server) adminEndSessions(ctx *fasthttp.RequestCtx) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(ctx, &in); err != nil {
		return err
	}
	if err := s.accounts.EndSessions(ctx, in.Email); err != nil {
		return err
	}
	writeOK(ctx, map[string]string{"email": in.Email})
	return nil
}

func (s *Server) adminAddToken(ctx *fasthttp.RequestCtx) error {
	var in struct {
		Name  string   `json:"name"`
		Sites []string `json:"sites"` // site keys; none: every site
	}
	if err := decodeJSON(ctx, &in); err != nil {
		return err
	}
	var ids []uint32
	for _, key := range in.Sites {
		site, err := s.sites.ByKey(key)
		if err != nil {
			return errorf(fasthttp.StatusBadRequest, "no site has the key %q (appliance site list shows them)", key)
		}
		ids = append(ids, site.ID)
	}
	token, err := s.accounts.CreateToken(ctx, in.Name, ids)
	if err != nil {
		return err
	}
	writeOK(ctx, map[string]any{"name": in.Name, "token": token, "sites": in.Sites})
	return nil
}
