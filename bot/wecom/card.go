package wecom

import (
	"strings"
	"unicode/utf8"

	"github.com/neighborbot/neighborbot/bot"
)

// WeCom's template card (模板卡片) as message/send and update_template_card take it. The SDK
// has no builder for it (work/robot's TemplateCard is the robot's text_notice only), so these
// are our own structs; only the fields neighborbot fills are declared.
type templateCard struct {
	CardType              string       `json:"card_type"`
	Source                *cardSource  `json:"source,omitempty"`
	MainTitle             cardTitle    `json:"main_title"`
	QuoteArea             *cardQuote   `json:"quote_area,omitempty"`
	SubTitleText          string       `json:"sub_title_text,omitempty"`
	HorizontalContentList []cardKV     `json:"horizontal_content_list,omitempty"`
	TaskID                string       `json:"task_id,omitempty"`
	ButtonList            []cardButton `json:"button_list,omitempty"`
}

type cardSource struct {
	Desc      string `json:"desc,omitempty"`
	DescColor int    `json:"desc_color"` // 0 grey, 1 black, 2 red, 3 green
}

type cardTitle struct {
	Title string `json:"title,omitempty"`
	Desc  string `json:"desc,omitempty"`
}

type cardQuote struct {
	QuoteText string `json:"quote_text"`
}

type cardKV struct {
	KeyName string `json:"keyname"`
	Value   string `json:"value,omitempty"`
}

type cardButton struct {
	Text  string `json:"text"`
	Style int    `json:"style,omitempty"` // 1 blue, 2 grey, 3 red, 4 green
	Key   string `json:"key"`
}

// WeCom's documented limits for a button_interaction card.
const (
	maxTitle    = 36
	maxSubtitle = 112
	maxQuote    = 112
	maxKeyName  = 5
	maxValue    = 26
	maxFields   = 6
	maxButtons  = 6
	maxBtnText  = 10
	maxText     = 2048 // bytes, text messages (app and robot)
	maxMarkdown = 4096 // bytes, markdown messages
	maxTouser   = 1000 // recipients of one app message
)

// buttonCard renders a bot.Card with buttons as a button_interaction card; taps come back as
// template_card_event with the button's key and the task id.
func buttonCard(c *bot.Card, botName, taskID string) templateCard {
	tc := templateCard{
		CardType:     "button_interaction",
		MainTitle:    cardTitle{Title: runes(c.Title, maxTitle)},
		SubTitleText: runes(c.Text, maxSubtitle),
		TaskID:       taskID,
	}
	if botName != "" {
		tc.Source = &cardSource{Desc: runes(botName, 13), DescColor: descColor(c.Color)}
	}
	if c.Footer != "" {
		tc.QuoteArea = &cardQuote{QuoteText: runes(c.Footer, maxQuote)}
	}
	for _, f := range c.Fields {
		if len(tc.HorizontalContentList) == maxFields {
			break
		}
		tc.HorizontalContentList = append(tc.HorizontalContentList, cardKV{KeyName: runes(f.Label, maxKeyName), Value: runes(f.Value, maxValue)})
	}
	for _, b := range c.Buttons {
		if len(tc.ButtonList) == maxButtons {
			break
		}
		tc.ButtonList = append(tc.ButtonList, cardButton{Text: runes(b.Label, maxBtnText), Style: buttonStyle(b.Style), Key: buttonKey(b)})
	}
	return tc
}

func descColor(color string) int {
	switch color {
	case "red", "orange":
		return 2
	case "green":
		return 3
	}
	return 0
}

func buttonStyle(style string) int {
	switch style {
	case "primary":
		return 1
	case "danger":
		return 3
	}
	return 2
}

// stateLabel is what the disabled button of a card that has no buttons left says: the state
// part of "#12 服务事项 · 已办结".
func stateLabel(c *bot.Card) string {
	t := c.Title
	if i := strings.LastIndex(t, "·"); i >= 0 {
		t = t[i+len("·"):]
	}
	t = strings.TrimSpace(strings.Split(strings.TrimSpace(t), " ")[0])
	if t == "" {
		return "已更新"
	}
	return runes(t, maxBtnText)
}

// markdown renders a card for places without buttons (group robots, the AI bot's response,
// a card with no buttons): what the buttons do is in the footer as text commands.
// prefix (mentions) goes first.
func markdown(c *bot.Card, prefix string) string {
	var b strings.Builder
	if prefix != "" {
		b.WriteString(prefix + "\n")
	}
	b.WriteString("**" + escapeMD(c.Title) + "**\n")
	if c.Text != "" {
		b.WriteString(escapeMD(c.Text) + "\n")
	}
	for _, f := range c.Fields {
		b.WriteString("> " + escapeMD(f.Label) + "：" + escapeMD(f.Value) + "\n")
	}
	if c.Footer != "" {
		b.WriteString(`<font color="comment">` + escapeMD(c.Footer) + "</font>\n")
	}
	return bytesCut(strings.TrimRight(b.String(), "\n"), maxMarkdown)
}

// escapeMD keeps people's text from turning into markup (bold, links, code, quotes, <font>,
// <@mentions>): WeCom's markdown has no escapes, so the characters become their full-width
// forms, which read naturally in Chinese text.
var mdEscaper = strings.NewReplacer("*", "＊", "`", "｀", "[", "［", "]", "］", "<", "＜", ">", "＞")

func escapeMD(s string) string { return mdEscaper.Replace(s) }

// atNames writes mentions as "@name" text, for places that cannot mention natively.
func atNames(ms []bot.Mention) string {
	var parts []string
	for _, m := range ms {
		if m.Name != "" {
			parts = append(parts, "@"+m.Name)
		}
	}
	return strings.Join(parts, " ")
}

// atIDs writes mentions as "<@userid>", which robot markdown turns into real mentions.
func atIDs(ms []bot.Mention) string {
	var parts []string
	for _, m := range ms {
		if id := localID(m.UserID); id != "" {
			parts = append(parts, "<@"+id+">")
		}
	}
	return strings.Join(parts, " ")
}

// joinNonEmpty joins a prefix and a text with a space, skipping an empty prefix.
func joinNonEmpty(prefix, text string) string {
	if prefix == "" {
		return text
	}
	return prefix + " " + text
}

// runes cuts s to n characters, marking the cut.
func runes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// bytesCut cuts s to at most n bytes at a character boundary, marking the cut.
func bytesCut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
