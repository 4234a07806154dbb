package oa

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// QRCommand asks for a compound's QR code: 二维码, or 二维码 <node id or name>.
const QRCommand = "二维码"

// ConfirmMove is what a resident replies to move to the compound whose code they scanned.
const ConfirmMove = "确认 迁移"

// Owner names the Service Account's part on the command mux.
const Owner = "officialaccount"

// Register puts what only this channel has on the command mux: a scanned compound code binds
// the person to its node (another compound after ConfirmMove), a follow and the 我要点单
// button say how to file a need, an image is acknowledged; and, on any platform, 二维码 [小区]
// from a secretary answers privately with the compound's QR code.
func (p *Platform) Register(m *bot.Mux) error {
	err := m.Handle(bot.Verb{Name: "oa.qr", Owner: Owner, Words: []string{QRCommand}, Shape: bot.ShapeText,
		Help: []bot.HelpLine{{Role: community.RoleSecretary, Text: "二维码 / 二维码 1网格 —— 服务号的小区二维码（私信），居民扫码绑定小区"}},
		Handler: func(ctx context.Context, r *bot.Request) error {
			args := strings.Fields(r.Command().Args)
			if len(args) > 1 {
				return bot.ErrNotCommand
			}
			return p.qrCommand(ctx, r, args)
		}})
	if err != nil {
		return err
	}
	err = m.Handle(bot.Verb{Name: "oa.move", Owner: Owner, Words: []string{ConfirmMove, "确认迁移"}, Shape: bot.ShapeWhole,
		Handler: func(ctx context.Context, r *bot.Request) error {
			if r.Msg.Platform != Name {
				return bot.ErrNotCommand
			}
			return p.confirmMove(ctx, r)
		}})
	if err != nil {
		return err
	}
	for _, a := range []string{ActScan, ActFollow, ActNeedHow, ActImage} {
		if err := m.HandleAction(a, Owner, p.onAction); err != nil {
			return err
		}
	}
	return nil
}

// onAction answers the channel's events, which arrive as actions.
func (p *Platform) onAction(ctx context.Context, r *bot.Request) error {
	a := r.Msg.Action
	switch a.Name {
	case ActScan:
		return p.scanned(ctx, r, a.Ref)
	case ActFollow:
		if r.Sender.Node != "" {
			r.Reply(p.welcome(r.Sender.Node))
		} else {
			r.Reply("欢迎关注！请扫描您所在小区的二维码（向社区书记索取），绑定小区后就可以直接在这里说明需要帮助的事。")
		}
		return nil
	case ActNeedHow:
		r.Reply(p.howTo())
		return nil
	}
	return p.image(ctx, r, a.Ref, a.Value)
}

func (p *Platform) nodeName(id string) string {
	if n, ok := p.o.Node(id); ok {
		return n.Name
	}
	return id
}

func (p *Platform) howTo() string {
	return "有需要帮助的事，直接在这里发文字或语音说明即可，例如“3栋2单元楼道灯坏了”；我会转给小区的党员认领，办理进度也会在这里告诉您。发送“我的”查看进度，“帮助”查看更多。"
}

func (p *Platform) welcome(node string) string {
	return fmt.Sprintf("欢迎！您已绑定%s。%s", p.nodeName(node), p.howTo())
}

// scanned binds the person to scene's node; a person bound elsewhere is asked first.
func (p *Platform) scanned(ctx context.Context, r *bot.Request, scene string) error {
	if _, ok := p.o.Node(scene); !ok {
		r.Reply("这个二维码已失效，请向社区书记索取新的二维码。")
		return nil
	}
	cur := r.Sender.Node
	if cur == scene {
		r.Reply(p.welcome(scene))
		return nil
	}
	if cur != "" {
		if err := p.o.Store.PutDoc(ctx, CollMove, OpenID(r.Msg.UserID), []byte(scene)); err != nil {
			return store.ErrUnavailable(err)
		}
		r.Reply(fmt.Sprintf("您现在绑定的是%s。要改为%s吗？确认请回复“%s”。", p.nodeName(cur), p.nodeName(scene), ConfirmMove))
		return nil
	}
	if err := p.bind(ctx, r, scene); err != nil {
		return err
	}
	r.Reply(p.welcome(scene))
	return nil
}

func (p *Platform) confirmMove(ctx context.Context, r *bot.Request) error {
	openID := OpenID(r.Msg.UserID)
	raw, err := p.o.Store.GetDoc(ctx, CollMove, openID)
	if community.ErrorCode(err) == community.ENotFound {
		r.Reply("没有待确认的迁移。请先扫描新小区的二维码。")
		return nil
	}
	if err != nil {
		return store.ErrUnavailable(err)
	}
	scene := string(raw)
	if err := p.bind(ctx, r, scene); err != nil {
		return err
	}
	if err := p.o.Store.DeleteDoc(ctx, CollMove, openID); err != nil {
		p.log.Warn("oa pending move not cleared", "err", err)
	}
	r.Reply(p.welcome(scene))
	return nil
}

// bind records the person at node (a new person is a resident: Role's zero value).
func (p *Platform) bind(ctx context.Context, r *bot.Request, node string) error {
	_, err := p.o.Store.UpdatePerson(ctx, r.Msg.UserID, func(pe *community.Person) error {
		pe.ID = r.Msg.UserID
		if pe.Name == "" {
			pe.Name = "居民"
		}
		pe.Node = node
		return nil
	})
	if err != nil {
		return store.ErrUnavailable(fmt.Errorf("bind %s: %w", node, err))
	}
	return nil
}

// qrCommand answers 二维码 [node]: a secretary gets, privately, the address of the QR image
// of the node (default: the group's, else their own), within their authority.
func (p *Platform) qrCommand(ctx context.Context, r *bot.Request, args []string) error {
	if !community.EffectiveRole(r.Sender).AtLeast(community.RoleSecretary) {
		r.Reply("小区二维码由书记发放，请向社区书记索取。")
		return nil
	}
	node := r.Group.Node
	if node == "" {
		node = r.Sender.Node
	}
	if len(args) == 1 {
		n, ok := p.o.Find(args[0])
		if !ok {
			r.Reply(fmt.Sprintf("没有找到“%s”，请写小区（网格）的名称或编号。", args[0]))
			return nil
		}
		node = n.ID
	}
	if node == "" || !p.o.Within(node, r.Sender.Node) {
		r.Reply("只能获取您所辖小区的二维码，例如：二维码 1网格")
		return nil
	}
	_, img, err := p.QR(ctx, node)
	if err != nil {
		p.log.Warn("oa qr code not made", "node", node, "err", err)
		r.Reply("二维码暂时没有生成成功，请稍后再试。")
		return nil
	}
	r.ReplyPrivately(fmt.Sprintf("%s的服务号二维码（长期有效）：\n%s\n居民扫码关注即绑定到%s，之后直接在服务号里说明需要帮助的事。打印张贴或转发均可。", p.nodeName(node), img, p.nodeName(node)))
	return nil
}

// SetItems gives the adapter the items (see Options.Items), for wiring after New.
func (p *Platform) SetItems(items Items) { p.o.Items = items }

// CollImages keeps, by item number, the images a resident sent for it (PicUrl, MediaId).
const CollImages = bot.CollItemImages

// image passes a resident's picture to whoever handles her latest open need (its claimers,
// else the secretaries over it) and keeps it noted on the item; without an open need she is
// asked to describe it first.
func (p *Platform) image(ctx context.Context, r *bot.Request, picURL, mediaID string) error {
	var it *community.Item
	if p.o.Items != nil {
		open, err := p.o.Items.ListItems(ctx, store.ItemFilter{Requester: r.Msg.UserID, Open: true, Limit: 1})
		if err != nil {
			return store.ErrUnavailable(err)
		}
		if len(open) > 0 {
			it = open[0]
		}
	}
	if it == nil || picURL == "" {
		r.Reply("📷 已收到图片。请先用文字或语音说明需要帮助的事（在哪里、什么情况），再发图片，方便党员了解情况。")
		return nil
	}
	key := strconv.FormatInt(it.No, 10)
	if _, err := p.o.Store.UpdateDoc(ctx, CollImages, key, func(old []byte) ([]byte, error) {
		var imgs []map[string]string
		if old != nil {
			_ = json.Unmarshal(old, &imgs)
		}
		if len(imgs) >= 9 {
			return old, nil
		}
		return json.Marshal(append(imgs, map[string]string{"pic_url": picURL, "media_id": mediaID}))
	}); err != nil {
		return store.ErrUnavailable(err)
	}
	text := fmt.Sprintf("📷 #%d %s 的居民发来图片：\n%s", it.No, community.Mask(it.Title), picURL)
	var to []string
	for _, c := range it.Claims {
		to = append(to, c.UserID)
	}
	if len(to) == 0 {
		persons, err := p.o.Items.ListPersons(ctx)
		if err != nil {
			return store.ErrUnavailable(err)
		}
		for _, pe := range persons {
			if pe.Node != "" && community.EffectiveRole(pe).AtLeast(community.RoleSecretary) && p.o.Within(it.Node, pe.Node) {
				to = append(to, pe.ID)
			}
		}
	}
	for _, id := range to {
		plat, _ := community.SplitID(id)
		r.Send(bot.Outbound{Platform: plat, UserID: id, Text: text})
	}
	who := "书记"
	if len(it.Claims) > 0 {
		who = "认领的党员"
	}
	r.Reply(fmt.Sprintf("📷 图片已附到您的需求 #%d，已转给%s。", it.No, who))
	return nil
}
