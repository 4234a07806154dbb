package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// Registration requests (报到) and personal information (我的信息, 删除我的信息).
//
// A registration is a request, kept in its own documents until a secretary decides it: the
// person's record (name, role, node, door) is not touched by 报到, so nobody becomes someone
// else, or a member, by typing a name. Pending requests live in CollRegistrations, one
// document each (few at a time, so listing them reads little); decided ones move to
// CollRegistrationsDone as the record of who decided what.
const (
	CollRegistrations     = "registrations"      // id regID(no) → community.Registration JSON, pending
	CollRegistrationsDone = "registrations.done" // id regID(no) → community.Registration JSON, decided
	CollRegistrationSeq   = "registrations.seq"  // id "seq" → the last request number
	// CollErasure holds a 删除我的信息 awaiting 确认删除: id person → the time it was asked.
	// In the store, not in memory, so the confirmation may reach any replica.
	CollErasure = "privacy.erase"
)

// EraseConfirmWindow is how long a 删除我的信息 waits for its 确认删除.
const EraseConfirmWindow = 10 * time.Minute

// DefaultRetention is how long closed items keep personal fields when none is configured.
const DefaultRetention = 180 * 24 * time.Hour

func regID(no int64) string { return fmt.Sprintf("%010d", no) }

// errUnchanged aborts an update that would change nothing.
var errUnchanged = errors.New("unchanged")

// pendingRegistrations lists the pending requests, oldest first.
func (h *Handlers) pendingRegistrations(ctx context.Context) ([]community.Registration, error) {
	docs, err := h.Store.ListDocs(ctx, CollRegistrations, "")
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	out := make([]community.Registration, 0, len(docs))
	for _, d := range docs {
		var reg community.Registration
		if err := json.Unmarshal(d.Value, &reg); err != nil {
			return nil, fmt.Errorf("registration %s: %w", d.ID, err)
		}
		out = append(out, reg)
	}
	return out, nil
}

func (h *Handlers) register(ctx context.Context, r *bot.Request, cmd Command) error {
	me := h.actor(r)
	if me.Role.AtLeast(community.RoleMember) {
		r.Replyf("您已经是%s（%s），无需再报到。", me.Role.Chinese(), r.Sender.Name)
		return nil
	}
	var check community.Person
	if err := check.SetUnit(cmd.Unit); err != nil {
		return err // too long: said now, not at approval
	}
	node := r.Group.Node
	if node == "" {
		node = r.Sender.Node
	}
	pending, err := h.pendingRegistrations(ctx)
	if err != nil {
		return err
	}
	unnamed := false
	if r.Msg.UserName == "" {
		if _, err := h.Store.GetPerson(ctx, r.Sender.ID); community.ErrorCode(err) == community.ENotFound {
			unnamed = true
		} else if err != nil {
			return store.ErrUnavailable(err)
		}
	}
	reg := community.Registration{
		Unnamed:  unnamed,
		PersonID: r.Sender.ID, Name: r.Sender.Name, Claimed: cmd.Name, Place: cmd.Place, Unit: check.Unit,
		Role: community.RoleMember, GroupID: r.Group.ID, Node: node, At: r.Now,
	}
	// One pending request per person: a second 报到 (or this event handled again) replaces it.
	for _, p := range pending {
		if p.PersonID == r.Sender.ID {
			reg.No = p.No
		}
	}
	if reg.No == 0 {
		raw, err := h.Store.UpdateDoc(ctx, CollRegistrationSeq, "seq", func(old []byte) ([]byte, error) {
			var n int64
			if old != nil {
				if err := json.Unmarshal(old, &n); err != nil {
					return nil, err
				}
			}
			return json.Marshal(n + 1)
		})
		if err != nil {
			return store.ErrUnavailable(err)
		}
		if err := json.Unmarshal(raw, &reg.No); err != nil {
			return fmt.Errorf("registration number: %w", err)
		}
	}
	val, err := json.Marshal(reg)
	if err != nil {
		return fmt.Errorf("registration: %w", err)
	}
	if err := h.Store.PutDoc(ctx, CollRegistrations, regID(reg.No), val); err != nil {
		return store.ErrUnavailable(err)
	}
	r.Replyf("📋 报到申请 #%d 已提交，等待书记确认。确认后即可认领服务事项。", reg.No)
	secs, err := h.secretaries(ctx, community.Group{ID: r.Group.ID, Node: node})
	if err != nil {
		return err
	}
	note := regLine(reg, h.placeName(ctx, reg), r.Now) +
		fmt.Sprintf("\n同意请发送：同意 %d，拒绝请发送：拒绝 %d 原因", reg.No, reg.No)
	for _, s := range secs {
		if h.Auth().CheckPlace(community.ActorOf(s), node) == nil {
			r.Send(h.private(r, s.ID, "🙋 "+note))
		}
	}
	return nil
}

// regLine describes a request for a secretary (privately): "报到申请 #3：王五（自称：张三，
// 3栋2单元）来自 幸福里小区群，今天10:00".
func regLine(reg community.Registration, where string, now time.Time) string {
	name := reg.Name
	if reg.Unnamed {
		name = "未登记姓名"
	}
	said := "自称：" + reg.Claimed
	if reg.Place != "" {
		said += "，" + reg.Place
	}
	if reg.Unit != "" {
		said += "，单位：" + reg.Unit
	}
	s := fmt.Sprintf("报到申请 #%d：%s（%s）", reg.No, name, said)
	if where != "" {
		s += " 来自 " + where
	}
	return s + "，" + community.FormatTime(reg.At, now)
}

// placeName names where a request was made: its group, or its node.
func (h *Handlers) placeName(ctx context.Context, reg community.Registration) string {
	if reg.GroupID != "" {
		g, err := h.Store.GetGroup(ctx, reg.GroupID)
		if err != nil {
			g = community.Group{ID: reg.GroupID, Node: reg.Node}
		}
		return h.groupName(g)
	}
	if h.Tree != nil {
		if n, ok := h.Tree.Node(reg.Node); ok {
			return n.Name
		}
	}
	return ""
}

// findRegistration picks the pending request cmd names: by number, or by the one name
// (known or typed) that matches a single request in the secretary's jurisdiction.
func (h *Handlers) findRegistration(ctx context.Context, me community.Actor, cmd Command, verb string) (community.Registration, error) {
	pending, err := h.pendingRegistrations(ctx)
	if err != nil {
		return community.Registration{}, err
	}
	if cmd.Item > 0 {
		for _, reg := range pending {
			if reg.No == cmd.Item {
				if err := h.Auth().CheckPlace(me, reg.Node); err != nil {
					return community.Registration{}, community.Errorf(community.EForbidden, "报到申请 #%d 不在您的辖区内，请由所属辖区的书记审核。", reg.No)
				}
				return reg, nil
			}
		}
		return community.Registration{}, community.Errorf(community.ENotFound, "没有找到待审核的报到申请 #%d（可能已处理）。发送“待审核”查看。", cmd.Item)
	}
	var match []community.Registration
	for _, reg := range pending {
		if (reg.Name == cmd.Name || reg.Claimed == cmd.Name) && h.Auth().CheckPlace(me, reg.Node) == nil {
			match = append(match, reg)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return community.Registration{}, community.Errorf(community.ENotFound, "没有找到待确认的报到：%s。发送“待审核”查看申请编号。", cmd.Name)
	}
	nos := make([]string, len(match))
	for i, reg := range match {
		nos[i] = fmt.Sprintf("%s %d", verb, reg.No)
	}
	return community.Registration{}, community.Errorf(community.EConflict, "有%d份叫 %s 的报到申请，请按编号发送：%s", len(match), cmd.Name, strings.Join(nos, " / "))
}

// settle moves a pending request to the decided ones; it fails if another secretary (or
// this event, handled before) decided it first.
func (h *Handlers) settle(ctx context.Context, reg community.Registration) error {
	found := false
	_, err := h.Store.UpdateDoc(ctx, CollRegistrations, regID(reg.No), func(old []byte) ([]byte, error) {
		found = old != nil
		return nil, nil
	})
	if err != nil {
		return store.ErrUnavailable(err)
	}
	if !found {
		return community.Errorf(community.EConflict, "报到申请 #%d 已经处理过了。", reg.No)
	}
	val, err := json.Marshal(reg)
	if err != nil {
		return fmt.Errorf("registration: %w", err)
	}
	if err := h.Store.PutDoc(ctx, CollRegistrationsDone, regID(reg.No), val); err != nil {
		return store.ErrUnavailable(err)
	}
	return nil
}

func (h *Handlers) approve(ctx context.Context, r *bot.Request, cmd Command) error {
	me := h.actor(r)
	if !me.Role.AtLeast(community.RoleSecretary) {
		return community.Errorf(community.EForbidden, "只有书记可以审核党员报到。")
	}
	reg, err := h.findRegistration(ctx, me, cmd, "同意")
	if community.ErrorCode(err) == community.ENotFound && cmd.Item == 0 {
		return h.decideLegacy(ctx, r, me, cmd, true, err)
	}
	if err != nil {
		return err
	}
	p, err := h.Store.UpdatePerson(ctx, reg.PersonID, func(p *community.Person) error {
		p.Pending = false
		p.Approved = true
		if p.Role < community.RoleMember {
			p.Role = community.RoleMember
		}
		if p.Name == "" {
			// A person known by no name yet takes the one the secretary approved.
			p.Name = reg.Name
			if reg.Unnamed {
				p.Name = reg.Claimed
			}
		}
		if p.Node == "" {
			p.Node = reg.Node
		}
		if reg.Unit != "" {
			return p.SetUnit(reg.Unit)
		}
		return nil
	})
	if err != nil {
		return store.ErrUnavailable(err)
	}
	reg.Decision, reg.By, reg.Decided = community.RegApproved, me.ID, r.Now
	if err := h.settle(ctx, reg); err != nil {
		return err
	}
	r.Replyf("✅ 已同意报到申请 #%d（%s），欢迎加入服务队伍！", reg.No, p.Name)
	r.Send(h.private(r, p.ID, fmt.Sprintf("✅ 您的报到申请 #%d 已通过，现在可以认领群里的服务事项了。发送“帮助”查看命令。", reg.No)))
	return nil
}

// legacyPending are the people a release before registration requests marked pending on
// their own record (Pending, Role raised to member), within me's jurisdiction. They have no
// request number and are decided by name.
func (h *Handlers) legacyPending(ctx context.Context, me community.Actor) ([]community.Person, error) {
	all, err := h.Store.ListPersons(ctx)
	if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	var out []community.Person
	for _, p := range all {
		if p.Pending && !p.Approved && h.Auth().CheckPlace(me, p.Node) == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// decideLegacy approves or refuses by name a legacy pending person (see legacyPending).
// Refusing puts back the resident's role the old 报到 had raised.
func (h *Handlers) decideLegacy(ctx context.Context, r *bot.Request, me community.Actor, cmd Command, approve bool, notFound error) error {
	legacy, err := h.legacyPending(ctx, me)
	if err != nil {
		return err
	}
	var match []community.Person
	for _, p := range legacy {
		if p.Name == cmd.Name {
			match = append(match, p)
		}
	}
	if len(match) != 1 {
		return notFound
	}
	p, err := h.Store.UpdatePerson(ctx, match[0].ID, func(p *community.Person) error {
		if !p.Pending || p.Approved {
			return community.Errorf(community.EConflict, "%s 的报到已经处理过了。", p.Name)
		}
		p.Pending = false
		if approve {
			p.Approved = true
			if p.Role < community.RoleMember {
				p.Role = community.RoleMember
			}
		} else if p.Role == community.RoleMember {
			p.Role = community.RoleResident
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !approve {
		reason := ""
		if cmd.Text != "" {
			reason = "，原因：" + cmd.Text
		}
		r.Replyf("已拒绝 %s 的报到%s。", p.Name, reason)
		r.Send(h.private(r, p.ID, fmt.Sprintf("您的报到未通过%s。如有疑问请联系社区书记。", reason)))
		return nil
	}
	r.Replyf("✅ 已确认 %s 的党员报到，欢迎加入服务队伍！", p.Name)
	r.Send(h.private(r, p.ID, "✅ 您的报到已确认，现在可以认领群里的服务事项了。发送“帮助”查看命令。"))
	return nil
}

func (h *Handlers) refuse(ctx context.Context, r *bot.Request, cmd Command) error {
	me := h.actor(r)
	if !me.Role.AtLeast(community.RoleSecretary) {
		return community.Errorf(community.EForbidden, "只有书记可以审核党员报到。")
	}
	reg, err := h.findRegistration(ctx, me, cmd, "拒绝")
	if community.ErrorCode(err) == community.ENotFound && cmd.Item == 0 {
		return h.decideLegacy(ctx, r, me, cmd, false, err)
	}
	if err != nil {
		return err
	}
	reg.Decision, reg.By, reg.Reason, reg.Decided = community.RegRefused, me.ID, cmd.Text, r.Now
	if err := h.settle(ctx, reg); err != nil {
		return err
	}
	reason := ""
	if cmd.Text != "" {
		reason = "，原因：" + cmd.Text
	}
	r.Replyf("已拒绝报到申请 #%d（%s）%s。", reg.No, reg.Name, reason)
	r.Send(h.private(r, reg.PersonID, fmt.Sprintf("您的报到申请 #%d 未通过%s。如有疑问请联系社区书记。", reg.No, reason)))
	return nil
}

// replyPrivately answers the sender one-to-one; asked in a group, the group hears only
// that the answer went privately.
func (h *Handlers) replyPrivately(r *bot.Request, text string) {
	if r.Msg.Private {
		r.Reply(text)
		return
	}
	r.Reply("已私信您。")
	r.Send(h.private(r, r.Sender.ID, text))
}

func (h *Handlers) listRegistrations(ctx context.Context, r *bot.Request) error {
	me := h.actor(r)
	if !me.Role.AtLeast(community.RoleSecretary) {
		return community.Errorf(community.EForbidden, "只有书记可以查看报到申请。")
	}
	pending, err := h.pendingRegistrations(ctx)
	if err != nil {
		return err
	}
	var lines []string
	for _, reg := range pending {
		if h.Auth().CheckPlace(me, reg.Node) == nil {
			lines = append(lines, regLine(reg, h.placeName(ctx, reg), r.Now))
		}
	}
	legacy, err := h.legacyPending(ctx, me)
	if err != nil {
		return err
	}
	for _, p := range legacy {
		lines = append(lines, fmt.Sprintf("旧版报到（无编号）：%s，请发送：同意 %s / 拒绝 %s 原因", p.Name, p.Name, p.Name))
	}
	if len(lines) == 0 {
		h.replyPrivately(r, "👍 您辖区目前没有待审核的报到申请。")
		return nil
	}
	h.replyPrivately(r, fmt.Sprintf("🙋 待审核的报到申请（%d份）：\n%s\n同意请发送：同意 编号，拒绝请发送：拒绝 编号 原因",
		len(lines), strings.Join(lines, "\n")))
	return nil
}

// retention is how long closed items keep personal fields.
func (h *Handlers) retention() time.Duration {
	if h.Retention > 0 {
		return h.Retention
	}
	return DefaultRetention
}

// myInfo lists everything the bot holds about the sender, privately.
func (h *Handlers) myInfo(ctx context.Context, r *bot.Request) error {
	p := r.Sender
	var b strings.Builder
	fmt.Fprintf(&b, "🔒 %s保存的您的信息（仅您可见）\n姓名：%s\n身份：%s", h.botName(), p.Name, community.EffectiveRole(p).Chinese())
	pending, err := h.pendingRegistrations(ctx)
	if err != nil {
		return err
	}
	for _, reg := range pending {
		if reg.PersonID == p.ID {
			fmt.Fprintf(&b, "（报到申请 #%d 待审核：自称%s", reg.No, reg.Claimed)
			if reg.Place != "" {
				b.WriteString("，" + reg.Place)
			}
			b.WriteString("）")
		}
	}
	line := func(label, v string) {
		if v != "" {
			fmt.Fprintf(&b, "\n%s：%s", label, v)
		}
	}
	if p.Node != "" {
		name := p.Node
		if h.Tree != nil {
			if n, ok := h.Tree.Node(p.Node); ok {
				name = n.Name
			}
		}
		line("所属", name)
	}
	line("电话", p.Phone)
	line("住址", p.Door)
	line("职责", strings.Join(p.Duties, "、"))
	line("先锋队", strings.Join(p.Teams, "、"))
	line("共建单位", p.Unit)
	if month, year, ok := h.points(ctx, p.ID); ok && (month != 0 || year != 0) {
		line("积分", fmt.Sprintf("本月 %d，本年 %d", month, year))
	}
	const max = 30
	items, err := h.Store.ListItems(ctx, store.ItemFilter{Requester: p.ID, Limit: max})
	if err != nil {
		return store.ErrUnavailable(err)
	}
	if len(items) == 0 {
		b.WriteString("\n您提的需求：无")
	} else {
		counts, err := h.Store.CountItems(ctx, store.ItemFilter{Requester: p.ID})
		if err != nil {
			return store.ErrUnavailable(err)
		}
		total := 0
		for _, n := range counts {
			total += n
		}
		fmt.Fprintf(&b, "\n您提的需求（共%d条", total)
		if total > len(items) {
			fmt.Fprintf(&b, "，最近%d条", len(items))
		}
		b.WriteString("）：")
		for _, it := range items {
			fmt.Fprintf(&b, "\n#%d %s【%s】", it.No, truncateRunes(it.Title, 30), it.State.Chinese())
		}
	}
	fmt.Fprintf(&b, "\n保存期限：需求办结或取消%d天后，其中的电话、证件号、门牌和您的姓名会被清除（办理记录保留）。", int(h.retention().Hours()/24))
	b.WriteString("\n如需删除，请发送：删除我的信息")
	h.replyPrivately(r, b.String())
	return nil
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// askErase records a 删除我的信息 and asks for its confirmation.
func (h *Handlers) askErase(ctx context.Context, r *bot.Request) error {
	at, err := r.Now.MarshalText()
	if err != nil {
		return fmt.Errorf("erase request: %w", err)
	}
	if err := h.Store.PutDoc(ctx, CollErasure, r.Sender.ID, at); err != nil {
		return store.ErrUnavailable(err)
	}
	r.Replyf("⚠️ 删除后：您的电话、住址将被清除；您提的需求中的电话、证件号、门牌和您的姓名将被匿名化，办理记录（时间、进度）保留，未办完的需求会继续办理。此操作不能撤销。\n确认请在%d分钟内发送：确认删除", int(EraseConfirmWindow.Minutes()))
	return nil
}

// erase carries out a confirmed 删除我的信息.
func (h *Handlers) erase(ctx context.Context, r *bot.Request) error {
	var asked time.Time
	_, err := h.Store.UpdateDoc(ctx, CollErasure, r.Sender.ID, func(old []byte) ([]byte, error) {
		asked = time.Time{}
		if old != nil {
			if err := asked.UnmarshalText(old); err != nil {
				asked = time.Time{}
			}
		}
		return nil, nil // asked once, confirmed (or expired) once
	})
	if err != nil {
		return store.ErrUnavailable(err)
	}
	if asked.IsZero() || r.Now.Sub(asked) > EraseConfirmWindow {
		r.Reply("没有待确认的删除请求（或已超过10分钟）。如需删除，请先发送：删除我的信息")
		return nil
	}
	id := r.Sender.ID
	p, err := h.Store.GetPerson(ctx, id)
	switch {
	case err == nil:
		if p.Phone != "" || p.Door != "" {
			if _, err := h.Store.UpdatePerson(ctx, id, func(p *community.Person) error {
				p.Phone, p.Door = "", ""
				return nil
			}); err != nil {
				return store.ErrUnavailable(err)
			}
		}
	case community.ErrorCode(err) == community.ENotFound:
		p = r.Sender // not in the directory: nothing kept there
	default:
		return store.ErrUnavailable(err)
	}
	items, err := h.Store.ListItems(ctx, store.ItemFilter{Requester: id})
	if err != nil {
		return store.ErrUnavailable(err)
	}
	var open []string
	for _, it := range items {
		got, err := h.Store.UpdateItem(ctx, it.No, func(it *community.Item) error {
			if !it.Erase(p, r.Now) {
				return errUnchanged
			}
			return nil
		})
		if err != nil && !errors.Is(err, errUnchanged) {
			return err
		}
		if err == nil && hadCard(got) {
			r.Send(h.cardMessage(got, r.Now, true)) // the card names the requester
		}
		if !it.State.Terminal() {
			open = append(open, fmt.Sprintf("#%d", it.No))
		}
	}
	if err := h.eraseRegistrations(ctx, id); err != nil {
		return err
	}
	h.Log.Info("personal information erased at the person's request", "person", id, "items", len(items))
	msg := fmt.Sprintf("✅ 已删除您的个人信息：电话、住址已清除，%d条需求中的电话、证件号、门牌和您的姓名已匿名化，办理记录保留。", len(items))
	if len(open) > 0 {
		msg += fmt.Sprintf("\n仍在办理的需求（%s）会继续为您办理，办好后仍可发送“确认 单号”评价；如需党员联系您，请在群里留言。", strings.Join(open, "、"))
	}
	r.Reply(msg)
	return nil
}

// hadCard reports whether the item was ever shown as a card in its group (a need is not
// until it is dispatched).
func hadCard(it *community.Item) bool {
	for _, e := range it.History {
		if e.Action == community.ActDispatch || e.Action == community.ActPost {
			return true
		}
	}
	return false
}

// eraseRegistrations drops the name and place typed in the person's registration requests.
func (h *Handlers) eraseRegistrations(ctx context.Context, personID string) error {
	for _, coll := range []string{CollRegistrations, CollRegistrationsDone} {
		docs, err := h.Store.ListDocs(ctx, coll, "")
		if err != nil {
			return store.ErrUnavailable(err)
		}
		for _, d := range docs {
			var reg community.Registration
			if err := json.Unmarshal(d.Value, &reg); err != nil || reg.PersonID != personID {
				continue
			}
			reg.Claimed, reg.Place, reg.Unit, reg.Name = "", "", "", community.ErasedName
			val, err := json.Marshal(reg)
			if err != nil {
				return fmt.Errorf("registration: %w", err)
			}
			if err := h.Store.PutDoc(ctx, coll, d.ID, val); err != nil {
				return store.ErrUnavailable(err)
			}
		}
	}
	return nil
}
