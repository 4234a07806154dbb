package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// ListenAdmin opens the admin listener on addr (config admin_addr), which Run serves next to
// the public one and closes with it: GET /metrics (Prometheus) and, with config pprof, the
// profiles under /debug/pprof/. Neither is ever on the public listener. An address in use
// fails here, at start-up, naming the setting.
func (a *App) ListenAdmin(addr string) (net.Addr, error) {
	if a.Metrics == nil {
		return nil, fmt.Errorf("admin listener: admin_addr is %q", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener (admin_addr, NEIGHBORBOT_ADMIN_ADDR): %w; "+
			"choose a free host:port, or %q to run without metrics", err, "off")
	}
	a.admin = ln
	a.closers = append(a.closers, func() error {
		if err := ln.Close(); err != nil && !isClosed(err) {
			return err
		}
		return nil
	})
	return ln.Addr(), nil
}

// AdminHandler is what the admin listener serves.
func (a *App) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	if a.Metrics != nil {
		mux.Handle("GET /metrics", a.Metrics.Handler())
	}
	mux.HandleFunc("GET /outbox", a.serveOutbox)
	if a.Cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// newAdminServer serves AdminHandler. A CPU profile or a trace takes as long as asked
// (?seconds=), so the write timeout leaves room for a minute's.
func (a *App) newAdminServer() *http.Server {
	return &http.Server{
		Handler:           a.AdminHandler(),
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		ReadTimeout:       DefaultReadTimeout,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       DefaultIdleTimeout,
	}
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// stepMetric is the scheduler's Options.Step: nil without metrics.
func (a *App) stepMetric() func(kind, outcome string) {
	if a.Metrics == nil {
		return nil
	}
	return a.Metrics.SchedulerStep
}

// tokenMetric is an adapter's Options.TokenFailed: nil without metrics.
func (a *App) tokenMetric(platform string) func() {
	if a.Metrics == nil {
		return nil
	}
	return func() { a.Metrics.TokenRefreshFailed(platform) }
}

// busyMetric counts callbacks refused by limitInFlight: nil without metrics.
func (a *App) busyMetric() func() {
	if a.Metrics == nil {
		return nil
	}
	return a.Metrics.Busy
}

// serveOutbox answers an operator's question "did this message go out, and if not, why?" in
// the logs' key=value form: GET /outbox?notice=N lists a notice's (or a poll's) deliveries,
// one line per target group; GET /outbox?id=ID shows one outbox entry (the id a log line
// gives as outbox=...). `neighborbot outbox` asks this of the running instance.
func (a *App) serveOutbox(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	q := r.URL.Query()
	switch {
	case q.Get("id") != "":
		e, err := a.Store.GetOutbox(ctx, q.Get("id"))
		if err != nil {
			outboxError(w, err)
			return
		}
		fmt.Fprintln(w, outboxLine(e))
	case q.Get("notice") != "":
		no, err := strconv.ParseInt(strings.TrimPrefix(q.Get("notice"), "#"), 10, 64)
		if err != nil || no <= 0 || a.Notices == nil {
			http.Error(w, "notice: want a number, e.g. ?notice=12", http.StatusBadRequest)
			return
		}
		nt, ds, err := a.Notices.Deliveries(ctx, no)
		if err != nil {
			outboxError(w, err)
			return
		}
		sent, pending, failed, missing := 0, 0, 0, 0
		for _, d := range ds {
			switch {
			case !d.Found:
				missing++
			case d.Entry.Status == store.OutboxSent:
				sent++
			case d.Entry.Status == store.OutboxFailed:
				failed++
			default:
				pending++
			}
		}
		fmt.Fprintf(w, "notice=%d id=%d kind=%s status=%s targets=%q confirmed_at=%s groups=%d sent=%d pending=%d failed=%d not_enqueued=%d\n",
			nt.Number(), nt.ID, nt.Kind, nt.Status, nt.TargetNames, stamp(nt.ConfirmedAt), len(ds), sent, pending, failed, missing)
		for _, d := range ds {
			name, node := a.groupNames(ctx, d.Group)
			prefix := fmt.Sprintf("group=%s group_name=%q node=%q ", d.Group, name, node)
			if !d.Found {
				fmt.Fprintln(w, prefix+"state=not_enqueued")
				continue
			}
			fmt.Fprintln(w, prefix+outboxLine(d.Entry))
		}
	default:
		http.Error(w, "want ?notice=N (a notice's or a poll's number) or ?id=OUTBOX_ID", http.StatusBadRequest)
	}
}

func outboxError(w http.ResponseWriter, err error) {
	if community.ErrorCode(err) == community.ENotFound {
		http.Error(w, "not found: "+err.Error(), http.StatusNotFound)
		return
	}
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

// outboxLine is an outbox entry as key=value.
func outboxLine(e store.OutboxEntry) string {
	return fmt.Sprintf("outbox=%s platform=%s chat=%s state=%s attempts=%d created=%s not_before=%s sent_at=%s message_id=%q last_error=%q",
		e.ID, e.Platform, e.Chat, e.Status, e.Attempts, stamp(e.CreatedAt), stamp(e.NotBefore), stamp(e.SentAt), e.Result, e.LastError)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// groupNames are a group's name and its org node's name, as people know them.
func (a *App) groupNames(ctx context.Context, id string) (group, node string) {
	g, err := a.Store.GetGroup(ctx, id)
	if err != nil {
		return "", ""
	}
	node = g.Node
	if n, ok := a.Tree.Node(g.Node); ok {
		node = n.Name
	}
	return g.Name, node
}
