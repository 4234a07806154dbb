package ledger

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/community"
)

// MyPoints is one member's 我的积分: this month and this year, and their rank.
type MyPoints struct {
	Name                string
	Community           string
	Month, Year         Period
	MonthLine, YearLine MemberLine
	MonthRank, YearRank int // 1-based among the community's members with points; 0 none
	MonthOf, YearOf     int // how many are ranked
	Items               []ItemPoints
}

// ItemPoints is what one item earned the member in the year.
type ItemPoints struct {
	No     int64
	Title  string
	Points int
	Stars  int
	Kinds  []string
	Last   time.Time
}

// PointsOf works out 我的积分 for person id from the year's ledger (built over the whole tree,
// so the ranking sees every member of the community) and the month within it.
func PointsOf(year *Ledger, id string, month Period) MyPoints {
	mp := MyPoints{Month: month, Year: year.Period}
	var me MemberLine
	found := false
	for _, m := range year.Members {
		if m.ID == id {
			me, found = m, true
			break
		}
	}
	if !found {
		return mp
	}
	mp.Name, mp.Community = me.Name, me.Community
	mp.YearLine = me
	mp.MonthLine = monthOnly(me, month)
	var peersY, peersM []MemberLine
	for _, m := range year.Members {
		if m.CommunityID != me.CommunityID {
			continue
		}
		if m.Points != 0 || m.Items > 0 {
			peersY = append(peersY, m)
		}
		if mm := monthOnly(m, month); mm.Points != 0 || mm.Items > 0 {
			peersM = append(peersM, mm)
		}
	}
	slices.SortFunc(peersM, byPoints)
	mp.YearOf, mp.MonthOf = len(peersY), len(peersM)
	mp.YearRank = slices.IndexFunc(peersY, func(m MemberLine) bool { return m.ID == id }) + 1
	mp.MonthRank = slices.IndexFunc(peersM, func(m MemberLine) bool { return m.ID == id }) + 1

	titles := map[int64]string{}
	for _, il := range year.Items {
		titles[il.Item.No] = il.Item.Title
	}
	byItem := map[int64]*ItemPoints{}
	for _, c := range me.Credits {
		ip := byItem[c.Item]
		if ip == nil {
			ip = &ItemPoints{No: c.Item, Title: titles[c.Item]}
			byItem[c.Item] = ip
		}
		ip.Points += c.Points
		if c.Kind == CreditStars {
			ip.Stars = c.Stars
		}
		if k := c.Kind.Chinese(); !slices.Contains(ip.Kinds, k) {
			ip.Kinds = append(ip.Kinds, k)
		}
		if c.At.After(ip.Last) {
			ip.Last = c.At
		}
	}
	for _, ip := range byItem {
		mp.Items = append(mp.Items, *ip)
	}
	slices.SortFunc(mp.Items, func(a, b ItemPoints) int {
		if c := b.Last.Compare(a.Last); c != 0 {
			return c
		}
		return int(b.No - a.No)
	})
	return mp
}

// monthOnly is m counting only the credits within month.
func monthOnly(m MemberLine, month Period) MemberLine {
	out := MemberLine{ID: m.ID, Name: m.Name, Unit: m.Unit, Node: m.Node, Community: m.Community, CommunityID: m.CommunityID}
	for _, c := range m.Credits {
		if !month.Contains(c.At) {
			continue
		}
		out.Credits = append(out.Credits, c)
		out.Points += c.Points
		switch c.Kind {
		case CreditComplete:
			out.Items++
		case CreditStars:
			out.Ratings++
			out.StarsSum += c.Stars
		case CreditReopened:
			out.Reopened++
		}
	}
	return out
}

// PointsText is the answer to 我的积分. Titles are masked: the answer may be read in a group.
func PointsText(mp MyPoints, now time.Time) string {
	var b strings.Builder
	if mp.Name == "" {
		fmt.Fprintf(&b, "🏅 %s您还没有积分。认领并完成群里的服务事项即可获得积分：完成+10，按时+5，每颗星+2。", mp.Year.Label())
		return b.String()
	}
	fmt.Fprintf(&b, "🏅 %s的积分\n", mp.Name)
	line := func(label string, m MemberLine, rank, of int) {
		fmt.Fprintf(&b, "%s：%d分，完成%d件", label, m.Points, m.Items)
		if m.Ratings > 0 {
			fmt.Fprintf(&b, "，获评%d次、平均%.1f星", m.Ratings, m.AvgStars())
		}
		if rank > 0 && mp.Community != "" {
			fmt.Fprintf(&b, "，%s第%d名（共%d人）", mp.Community, rank, of)
		}
		b.WriteString("\n")
	}
	line(fmt.Sprintf("本月(%d月)", mp.Month.Month), mp.MonthLine, mp.MonthRank, mp.MonthOf)
	line(fmt.Sprintf("今年(%d年)", mp.Year.Year), mp.YearLine, mp.YearRank, mp.YearOf)
	if len(mp.Items) > 0 {
		b.WriteString("得分事项：\n")
		for i, ip := range mp.Items {
			if i == 10 {
				fmt.Fprintf(&b, "……另有%d件\n", len(mp.Items)-10)
				break
			}
			fmt.Fprintf(&b, "#%d %s %+d（%s", ip.No, community.Mask(cut(ip.Title, 16)), ip.Points, strings.Join(ip.Kinds, "、"))
			if ip.Stars > 0 {
				fmt.Fprintf(&b, " %d★", ip.Stars)
			}
			fmt.Fprintf(&b, "）%s\n", ip.Last.In(now.Location()).Format("1月2日"))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// MonthlyText is the 月报 card's body.
func MonthlyText(l *Ledger) string {
	s := l.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "范围：%s\n", l.Scope.Name)
	fmt.Fprintf(&b, "【四单闭环】\n")
	fmt.Fprintf(&b, "居民点单 %d 件，派单 %d 件，接单 %d 件", s.Received, s.Dispatched, s.Claimed)
	if s.Claimed > 0 {
		fmt.Fprintf(&b, "（接单用时中位数 %s）", Duration(s.ClaimMedian))
	}
	fmt.Fprintf(&b, "\n报告完成 %d 件，居民评价 %d 次，取消 %d 件\n", s.Done, s.Confirmed, s.Cancelled)
	fmt.Fprintf(&b, "按时完成 %d 件，超时完成 %d 件", s.OnTime, s.Late)
	if s.Done > 0 {
		fmt.Fprintf(&b, "（按时率 %s）", pct(s.OnTime, s.OnTime+s.Late))
	}
	fmt.Fprintf(&b, "，挂牌超期 %d 件\n", s.Overdue)
	if s.Ratings > 0 {
		fmt.Fprintf(&b, "平均评星 %.2f★（%d 次评价）\n", s.AvgStars(), s.Ratings)
	} else {
		b.WriteString("平均评星 —（本期无评价）\n")
	}
	fmt.Fprintf(&b, "回访 %d 次，重办 %d 次\n", s.FollowUps, s.Reopened)
	fmt.Fprintf(&b, "【通知与活动】\n通知 %d 条，收到回执 %d 人次\n", s.Notices, s.NoticeAcks)
	fmt.Fprintf(&b, "活动 %d 场，报名 %d 人次，签到 %d 人次，请假 %d 人次\n", s.Activities, s.Signups, s.Attended, s.Leaves)
	if top := Top(l.Members, 5); len(top) > 0 {
		b.WriteString("【服务之星】\n")
		for i, m := range top {
			fmt.Fprintf(&b, "%d. %s %d分（完成%d件", i+1, m.Name, m.Points, m.Items)
			if m.Ratings > 0 {
				fmt.Fprintf(&b, "，%.1f★", m.AvgStars())
			}
			b.WriteString("）\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// Top is the first n members with points.
func Top(ms []MemberLine, n int) []MemberLine {
	var out []MemberLine
	for _, m := range ms {
		if len(out) == n {
			break
		}
		if m.Points > 0 {
			out = append(out, m)
		}
	}
	return out
}

// MonthlyTitle is the 月报 card's title.
func MonthlyTitle(l *Ledger) string { return "📊 " + l.Period.Label() + " 台账月报" }

// Candidates are the year's 服务之星 candidates: members who completed at least 3 items with
// an average of at least 4 stars (when rated), by points; at most n.
func Candidates(ms []MemberLine, n int) []MemberLine {
	var out []MemberLine
	for _, m := range ms {
		if len(out) == n {
			break
		}
		if m.Items >= 3 && (m.Ratings == 0 || m.AvgStars() >= 4) && m.Points > 0 {
			out = append(out, m)
		}
	}
	return out
}

// RankingText is the answer to 排行 2026.
func RankingText(l *Ledger) string {
	var b strings.Builder
	fmt.Fprintf(&b, "🏆 %s 服务之星、共建之星候选（%s）\n", l.Period.Label(), l.Scope.Name)
	b.WriteString("【服务之星候选】完成≥3件且平均≥4星，按积分\n")
	cs := Candidates(l.Members, 10)
	if len(cs) == 0 {
		b.WriteString("暂无符合条件的党员\n")
	}
	for i, m := range cs {
		fmt.Fprintf(&b, "%d. %s（%s）%d分：完成%d件，按时率%s，%s，重办%d次，活动签到%d次\n", i+1, m.Name, or(m.Community, "—"), m.Points,
			m.Items, pct(m.OnTime, m.OnTime+m.Late), starsText(m.Ratings, m.StarsSum), m.Reopened, m.Attended)
	}
	b.WriteString("【共建之星候选】按单位党员积分合计\n")
	if len(l.Units) == 0 {
		b.WriteString("暂无共建单位数据（在配置 members[].unit 或 报到 … 单位 X 登记）\n")
	}
	for i, u := range l.Units {
		if i == 5 {
			break
		}
		fmt.Fprintf(&b, "%d. %s %d分：党员%d人，完成%d件，%s，活动签到%d次\n", i+1, u.Name, u.Points, len(u.Members), u.Items, starsText(u.Ratings, u.StarsSum), u.Attended)
	}
	return strings.TrimRight(b.String(), "\n")
}

// UnitText is the answer to 单位报告 X 2026; ok is false when the unit has no one.
func UnitText(l *Ledger, unit string) (string, bool) {
	i := slices.IndexFunc(l.Units, func(u UnitLine) bool { return u.Name == unit })
	if i < 0 {
		return fmt.Sprintf("%s没有“%s”的服务记录。请核对单位名称（与配置或报到时登记的一致）。", l.Period.Label(), unit), false
	}
	u := l.Units[i]
	var b strings.Builder
	fmt.Fprintf(&b, "🏢 %s %s 共建报告\n", u.Name, l.Period.Label())
	fmt.Fprintf(&b, "党员%d人，合计%d分，完成服务%d件，%s，活动签到%d次，共建单位第%d名（共%d个）\n", len(u.Members), u.Points, u.Items,
		starsText(u.Ratings, u.StarsSum), u.Attended, i+1, len(l.Units))
	b.WriteString("按月完成：")
	for m, n := range u.ByMonth {
		if m > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%d月%d", m+1, n)
	}
	b.WriteString("\n党员：\n")
	for _, m := range u.Members {
		fmt.Fprintf(&b, "%s（%s）%d分，完成%d件，%s\n", m.Name, or(m.Community, "—"), m.Points, m.Items, starsText(m.Ratings, m.StarsSum))
	}
	return strings.TrimRight(b.String(), "\n"), true
}

func starsText(n, sum int) string {
	if n == 0 {
		return "暂无评价"
	}
	return fmt.Sprintf("平均%.1f★", avg(sum, n))
}

func pct(a, n int) string {
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%d%%", (a*100+n/2)/n)
}

// Duration shows a span the way people say it: 35分钟, 2.5小时, 3.2天.
func Duration(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d分钟", int(d.Round(time.Minute)/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f小时", d.Hours())
	}
	return fmt.Sprintf("%.1f天", d.Hours()/24)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
