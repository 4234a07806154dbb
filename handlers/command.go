package handlers

import "time"

// Verb names what a chat message asks the bot to do. The parser (Parse) turns free Chinese
// text into a Command; the handlers execute it. Parse is pure: no I/O, no clock (the
// current time comes in through ParseContext.Now).
type Verb string

const (
	VerbUnknown     Verb = ""            // not a command: hint text
	VerbHelp        Verb = "help"        // 帮助 / ? / 菜单
	VerbNeed        Verb = "need"        // free text addressed to the bot: a resident's need (点单)
	VerbMine        Verb = "mine"        // 我的 / 我的需求: the sender's own needs
	VerbMyTasks     Verb = "mytasks"     // 我的任务 / 我的接单: the sender's claims
	VerbDispatch    Verb = "dispatch"    // 派单 N [截止 ...] [需要3人]
	VerbPost        Verb = "post"        // 发布 标题 [需要5人] [截止 ...]
	VerbCancel      Verb = "cancel"      // 取消 N 原因
	VerbReschedule  Verb = "resched"     // 改期 N 截止 ...
	VerbSupervise   Verb = "supervise"   // 督办 N [说明]
	VerbTodo        Verb = "todo"        // 待办
	VerbClaim       Verb = "claim"       // 接单 N / 认领N / 我来 / +1 (as a reply to the card: Item from ReplyItem)
	VerbRelease     Verb = "release"     // 放弃 N [原因]
	VerbComplete    Verb = "complete"    // 完成 N 备注
	VerbConfirm     Verb = "confirm"     // 确认 N 5星 评语 / 评价 N ★★★★ 评语
	VerbUnsatisfied Verb = "unsatisfied" // 不满意 N 原因
	VerbReopen      Verb = "reopen"      // 重办 N [说明]: secretary sends a follow-up item back to its claimers
	VerbCloseOut    Verb = "closeout"    // 办结 N [说明] / 销号 N: secretary closes a follow-up
	VerbRegister    Verb = "register"    // 报到 姓名 [楼栋/单元...]: a member registers (双报到)
	VerbApprove     Verb = "approve"     // 同意 N / 同意 姓名|@某人 / 批准 ...: secretary approves registration request N
	VerbRefuse      Verb = "refuse"      // 拒绝 N 原因 / 驳回 N 原因: secretary refuses registration request N
	VerbPendingRegs Verb = "pendingregs" // 待审核 / 报到列表: secretary lists pending registration requests
	VerbMyInfo      Verb = "myinfo"      // 我的信息: what the bot holds about the sender (answered privately)
	VerbErase       Verb = "erase"       // 删除我的信息: asks to erase it (confirmed by 确认删除)
	VerbEraseOK     Verb = "eraseok"     // 确认删除: confirms a pending 删除我的信息
	VerbBind        Verb = "bind"        // 绑定 节点名: secretary binds this group to an org node (e.g. 3网格)
	VerbItem        Verb = "item"        // 查看 N / 详情 N: show one item
)

// Command is the parsed form of one message.
type Command struct {
	Verb Verb
	Item int64 // item number (#12, 12号, 第12单, 十二), or 同意/拒绝's request number; 0 if none

	// Text is the free part: a need's text, a post's title, a reason, a note or a comment.
	// Deadline/slot/star phrases that were recognised are removed from it; it is trimmed.
	Text string

	Deadline time.Time // zero when no 截止 phrase; resolved against ParseContext.Now in its Location
	Slots    int       // 需要3人 / 3人 / 三人; 0 when not given
	Stars    int       // 1..5 from 5星 / 五星 / ★★★★★ / 5分; 0 when not given
	Name     string    // 报到/同意/拒绝: the person's name; 绑定: the node name
	Place    string    // 报到: building/unit text after the name ("3栋2单元")
	Unit     string    // 报到: the 共建单位 typed after 单位 or 单位： ("区税务局")

	// Err is set when the verb was recognised but its arguments are wrong, e.g. "接单" with no
	// number and no reply context, or "确认 12 9星". It is a short, friendly Chinese hint that
	// the handler shows the user as is ("请告诉我单号，例如：接单 12").
	Err string
}

// ParseContext is what the parser needs besides the text.
type ParseContext struct {
	Now       time.Time // current time, in Asia/Shanghai (its Location is used to resolve dates)
	ReplyItem int64     // item number of the card this message replies to, 0 if none
	Mentioned bool      // the bot was @-mentioned (mentions already stripped from the text)
	Private   bool      // a one-to-one chat with the bot
}
