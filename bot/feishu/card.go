package feishu

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/neighborbot/neighborbot/bot"
)

// Card JSON 2.0, from our own structs (the SDK has no builder for 2.0). Feishu rejects
// properties it does not know in 2.0, so only documented ones appear, and omitempty keeps
// unset ones out.

type card struct {
	Schema string     `json:"schema"`
	Config cardConfig `json:"config"`
	Header cardHeader `json:"header"`
	Body   cardBody   `json:"body"`
}

type cardConfig struct {
	UpdateMulti bool         `json:"update_multi"` // a shared card: an update shows for everyone
	Summary     *cardSummary `json:"summary,omitempty"`
}

type cardSummary struct {
	Content string `json:"content"` // what the chat list shows
}

type cardHeader struct {
	Title    cardText `json:"title"`
	Template string   `json:"template"`
}

type cardText struct {
	Tag     string `json:"tag"` // plain_text
	Content string `json:"content"`
}

type cardBody struct {
	Elements []any `json:"elements"`
}

type cardMarkdown struct {
	Tag      string `json:"tag"` // markdown
	Content  string `json:"content"`
	TextSize string `json:"text_size,omitempty"`
}

type cardColumnSet struct {
	Tag               string       `json:"tag"` // column_set
	FlexMode          string       `json:"flex_mode,omitempty"`
	HorizontalSpacing string       `json:"horizontal_spacing,omitempty"`
	Columns           []cardColumn `json:"columns"`
}

type cardColumn struct {
	Tag      string `json:"tag"` // column
	Width    string `json:"width"`
	Weight   int    `json:"weight,omitempty"`
	Elements []any  `json:"elements"`
}

type cardButton struct {
	Tag       string         `json:"tag"` // button
	Text      cardText       `json:"text"`
	Type      string         `json:"type"`
	Behaviors []cardBehavior `json:"behaviors"`
}

type cardBehavior struct {
	Type  string      `json:"type"` // callback: the tap comes back as card.action.trigger
	Value ButtonValue `json:"value"`
}

// ButtonValue is what a button carries back in card.action.trigger.
type ButtonValue struct {
	Action string `json:"action"`
	Item   int64  `json:"item,omitempty"`
	Value  string `json:"value,omitempty"`
	Ref    string `json:"ref,omitempty"`
}

type cardHR struct {
	Tag string `json:"tag"` // hr
}

var templates = map[string]string{
	"blue": "blue", "green": "green", "orange": "orange", "red": "red", "grey": "grey", "gray": "grey",
}

func buttonType(style string) string {
	switch style {
	case "primary":
		return "primary_filled"
	case "danger":
		return "danger"
	}
	return "default"
}

// CardJSON renders a platform-neutral card as Feishu card JSON 2.0.
func CardJSON(c bot.Card) ([]byte, error) {
	out := card{
		Schema: "2.0",
		Config: cardConfig{UpdateMulti: true},
		Header: cardHeader{Title: cardText{Tag: "plain_text", Content: c.Title}, Template: templates[c.Color]},
	}
	if out.Header.Template == "" {
		out.Header.Template = "blue"
	}
	if c.Title != "" {
		out.Config.Summary = &cardSummary{Content: c.Title}
	}
	var els []any
	if len(c.Mentions) > 0 {
		var b strings.Builder
		for i, m := range c.Mentions {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(markdownMention(m))
		}
		els = append(els, cardMarkdown{Tag: "markdown", Content: b.String()})
	}
	if c.Text != "" {
		els = append(els, cardMarkdown{Tag: "markdown", Content: escapeMarkdown(c.Text)})
	}
	els = append(els, fieldElements(c.Fields)...)
	if len(c.Buttons) > 0 {
		cols := make([]cardColumn, len(c.Buttons))
		for i, b := range c.Buttons {
			cols[i] = cardColumn{Tag: "column", Width: "auto", Elements: []any{cardButton{
				Tag:  "button",
				Text: cardText{Tag: "plain_text", Content: b.Label},
				Type: buttonType(b.Style),
				Behaviors: []cardBehavior{{Type: "callback", Value: ButtonValue{
					Action: b.Action, Item: b.Item, Value: b.Value, Ref: b.Ref,
				}}},
			}}}
		}
		els = append(els, cardColumnSet{Tag: "column_set", FlexMode: "flow", HorizontalSpacing: "8px", Columns: cols})
	}
	if c.Footer != "" {
		els = append(els, cardHR{Tag: "hr"}, cardMarkdown{Tag: "markdown", Content: escapeMarkdown(c.Footer), TextSize: "notation"})
	}
	if len(els) == 0 {
		els = []any{cardMarkdown{Tag: "markdown", Content: " "}}
	}
	out.Body.Elements = els
	return marshal(out)
}

// fieldElements lays short fields out two to a row and long ones on their own.
func fieldElements(fs []bot.Field) []any {
	var els []any
	for i := 0; i < len(fs); i++ {
		f := fs[i]
		if f.Short && i+1 < len(fs) && fs[i+1].Short {
			g := fs[i+1]
			els = append(els, cardColumnSet{Tag: "column_set", FlexMode: "bisect", Columns: []cardColumn{
				{Tag: "column", Width: "weighted", Weight: 1, Elements: []any{fieldMarkdown(f)}},
				{Tag: "column", Width: "weighted", Weight: 1, Elements: []any{fieldMarkdown(g)}},
			}})
			i++
			continue
		}
		els = append(els, fieldMarkdown(f))
	}
	return els
}

func fieldMarkdown(f bot.Field) cardMarkdown {
	return cardMarkdown{Tag: "markdown", Content: "**" + escapeMarkdown(f.Label) + "**：" + escapeMarkdown(f.Value)}
}

func markdownMention(m bot.Mention) string {
	if open, ok := strings.CutPrefix(m.UserID, Name+":"); ok && open != "" {
		return "<at id=" + open + "></at>"
	}
	return "@" + escapeMarkdown(m.Name)
}

// markdownEscapes neutralises what card markdown would interpret in text people wrote: tags
// (<at id=all> would ping the whole group, <font>, <a>), and markdown syntax. HTML entities
// render as the character itself.
var markdownEscapes = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	"*", "&#42;", "_", "&#95;", "~", "&#126;", "`", "&#96;", "#", "&#35;",
	"[", "&#91;", "]", "&#93;", "(", "&#40;", ")", "&#41;", "|", "&#124;",
	"$", "&#36;", "!", "&#33;", "\\", "&#92;",
)

func escapeMarkdown(s string) string { return markdownEscapes.Replace(s) }

// TextContent is the content of a text message: the mentions first (<at user_id="ou_x">名字</at>)
// then the text, marshalled with encoding/json (never concatenated into JSON by hand).
func TextContent(text string, mentions []bot.Mention) ([]byte, error) {
	var b strings.Builder
	for _, m := range mentions {
		if open, ok := strings.CutPrefix(m.UserID, Name+":"); ok && open != "" {
			b.WriteString(`<at user_id="` + escapeAttr(open) + `">` + neutraliseTags(m.Name) + `</at> `)
		} else if m.Name != "" {
			b.WriteString("@" + neutraliseTags(m.Name) + " ")
		}
	}
	b.WriteString(neutraliseTags(text))
	return marshal(struct {
		Text string `json:"text"`
	}{b.String()})
}

// neutraliseTags keeps text from carrying Feishu's <at ...> tag (a resident's need that says
// <at user_id="all"> must not ping the whole group when the bot repeats it): an invisible
// word joiner after "<" breaks the tag.
func neutraliseTags(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	return strings.ReplaceAll(s, "<", "<\u2060")
}

func escapeAttr(s string) string {
	return strings.NewReplacer(`"`, "", "<", "", ">", "").Replace(s)
}

// marshal is json.Marshal without HTML escaping (Feishu reads "<at" literally, not "\u003cat").
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
