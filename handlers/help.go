package handlers

import (
	"fmt"
	"strings"

	"github.com/neighborbot/neighborbot/community"
)

type helpLine struct {
	role community.Role
	text string
}

var helpLines = []helpLine{
	{community.RoleResident, "@%[1]s 需要帮助的事 —— 提需求，例如：@%[1]s 3栋2单元楼道灯坏了"},
	{community.RoleResident, "我的 —— 查看我提的需求和进度"},
	{community.RoleResident, "确认 12 5星 很及时 —— 确认办好并评价（1-5星）"},
	{community.RoleResident, "不满意 12 原因 —— 不满意，书记会回访"},
	{community.RoleResident, "查看 12 —— 查看事项详情和办理记录"},
	{community.RoleResident, "报到 姓名 楼栋 —— 党员到小区报到（双报到），书记确认后可接单"},
	{community.RoleResident, "我的信息 —— 查看本机器人保存的您的信息（私信回复）；删除我的信息 —— 删除并匿名化"},
	{community.RoleMember, "接单 12 / 认领12 —— 认领事项；回复卡片“我来”或点“接单”也行"},
	{community.RoleMember, "放弃 12 —— 放弃认领"},
	{community.RoleMember, "完成 12 已换灯泡 —— 报告办好"},
	{community.RoleMember, "我的任务 —— 查看我认领的事项和积分"},
	{community.RoleMember, "待办 —— 本群待认领的事项"},
	{community.RoleSecretary, "派单 12 截止 周五18点 需要3人 —— 把需求派为服务事项"},
	{community.RoleSecretary, "发布 周六上午清理楼道 需要5人 截止 周六12点 —— 直接发布事项"},
	{community.RoleSecretary, "取消 12 原因 / 改期 12 截止 明天 / 督办 12"},
	{community.RoleSecretary, "重办 12 / 办结 12 —— 回访后重新办理或销号"},
	{community.RoleSecretary, "待办 —— 辖区内未办结、超期的事项"},
	{community.RoleSecretary, "待审核 —— 查看报到申请；同意 3 / 拒绝 3 原因 —— 审核报到申请 #3"},
	{community.RoleSecretary, "绑定 1网格 —— 把本群绑定到网格"},
	{community.RoleSecretary, "通知 全体 内容 —— 一键通知到各群；进度 N、回执 N 查看送达和回执；投票 议题 同意/反对 截止 周日"},
	{community.RoleResident, "收到 —— 回复通知表示已读；活动帮助 —— 主题党日、联席会议的报名、请假、签到和议题"},
}

// HelpText lists the commands role may use, in Chinese.
func HelpText(role community.Role, botName string) string {
	if botName == "" {
		botName = "邻里帮"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "👋 我是%s，您的身份：%s。可以这样用：", botName, role.Chinese())
	for _, l := range helpLines {
		if role.AtLeast(l.role) {
			text := l.text
			if strings.Contains(text, "%[1]s") { // only some lines name the bot
				text = fmt.Sprintf(text, botName)
			}
			b.WriteString("\n• " + text)
		}
	}
	return b.String()
}
