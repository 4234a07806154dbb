package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	oa "github.com/neighborbot/neighborbot/bot/officialaccount"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/app"
	"github.com/neighborbot/neighborbot/internal/setup"
	"github.com/neighborbot/neighborbot/store"
)

// serviceAccount builds the Service Account adapter for a one-off call. It keeps its access
// token in memory, not in the store (a running bot may hold the bbolt file); the token it
// fetches replaces the bot's after WeChat's five-minute overlap, and the bot then fetches a
// new one by itself (a refused token is refreshed once per call).
func serviceAccount(cfg *config.Config, log *slog.Logger) (*oa.Platform, *community.Tree, error) {
	tree, err := setup.Tree(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("org tree: %w", err)
	}
	p, err := app.WeChatOA(cfg, &memStore{docs: map[string][]byte{}}, tree, time.Now, log)
	if err != nil {
		return nil, nil, err
	}
	return p, tree, nil
}

// qrCode writes the PNG of node's permanent QR code (scene string = the node's id) to stdout:
// neighborbot qr 1网格 > qr.png
func qrCode(ctx context.Context, args []string, cfg *config.Config, log *slog.Logger, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("qr needs one org node (id or name): neighborbot qr [-config FILE] NODE > qr.png")
	}
	p, tree, err := serviceAccount(cfg, log)
	if err != nil {
		return err
	}
	n, ok := tree.Find(args[0])
	if !ok {
		return fmt.Errorf("qr: no org node %q", args[0])
	}
	ticket, _, err := p.QR(ctx, n.ID)
	if err != nil {
		return err
	}
	png, err := p.QRImage(ctx, ticket)
	if err != nil {
		return fmt.Errorf("qr image: %w", err)
	}
	_, err = stdout.Write(png)
	return err
}

// oaCommand runs neighborbot oa menu: installs the menu of the config (wechat_oa.menu), by
// default 我要点单 / 我的需求 / 帮助.
func oaCommand(ctx context.Context, args []string, cfg *config.Config, log *slog.Logger, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "menu" {
		return fmt.Errorf("oa wants a subcommand: neighborbot oa [-config FILE] menu")
	}
	p, _, err := serviceAccount(cfg, log)
	if err != nil {
		return err
	}
	menu := oa.DefaultMenu()
	if len(cfg.WeChatOA.Menu) > 0 {
		menu = menu[:0]
		for _, b := range cfg.WeChatOA.Menu {
			menu = append(menu, oa.MenuButton{Name: b.Name, Text: b.Text})
		}
	}
	if err := p.InstallMenu(ctx, menu); err != nil {
		return err
	}
	names := make([]string, len(menu))
	for i, b := range menu {
		names[i] = b.Name
	}
	fmt.Fprintln(stdout, "menu installed:", strings.Join(names, ", "))
	return nil
}

// memStore is an in-memory oa.Store for the one-off commands: they only keep a token.
type memStore struct {
	mu   sync.Mutex
	docs map[string][]byte
}

func (m *memStore) GetDoc(_ context.Context, coll, id string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.docs[coll+"/"+id]; ok {
		return v, nil
	}
	return nil, store.ErrNotFound(coll + " " + id)
}

func (m *memStore) PutDoc(_ context.Context, coll, id string, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.docs[coll+"/"+id] = v
	return nil
}

func (m *memStore) UpdateDoc(_ context.Context, coll, id string, fn func(old []byte) ([]byte, error)) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, err := fn(m.docs[coll+"/"+id])
	if err != nil {
		return nil, err
	}
	if v == nil {
		delete(m.docs, coll+"/"+id)
	} else {
		m.docs[coll+"/"+id] = v
	}
	return v, nil
}

func (m *memStore) DeleteDoc(_ context.Context, coll, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.docs, coll+"/"+id)
	return nil
}

func (m *memStore) ListDocs(context.Context, string, string) ([]store.Doc, error) { return nil, nil }

func (m *memStore) GetPerson(_ context.Context, id string) (community.Person, error) {
	return community.Person{}, store.ErrNotFound("person " + id)
}

func (m *memStore) UpdatePerson(context.Context, string, func(p *community.Person) error) (community.Person, error) {
	return community.Person{}, fmt.Errorf("no persons in a one-off command")
}
