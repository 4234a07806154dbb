package config

// Demo is a small community living in the local playground, so a first start without any
// file or credentials already has groups, people and a rhythm to try the bot with.
// config.example.yaml holds the same content (a test keeps them equal).
func Demo() *Config {
	c := defaults()
	c.Org = []OrgNode{{
		ID: "street", Name: "城关街道", Kind: KindStreet,
		Children: []OrgNode{{
			ID: "xingfu", Name: "幸福社区", Kind: KindCommunity,
			Children: []OrgNode{
				{
					ID: "grid1", Name: "1网格", Kind: KindGrid, Compound: "幸福里小区",
					Children: []OrgNode{
						{ID: "grid1-b3", Name: "3栋", Kind: KindBuilding, Children: []OrgNode{
							{ID: "grid1-b3-u1", Name: "1单元", Kind: KindUnit},
							{ID: "grid1-b3-u2", Name: "2单元", Kind: KindUnit},
						}},
						{ID: "grid1-b5", Name: "5栋", Kind: KindBuilding},
					},
				},
				{
					ID: "grid2", Name: "2网格", Kind: KindGrid, Compound: "阳光花园",
					Children: []OrgNode{
						{ID: "grid2-b1", Name: "1栋", Kind: KindBuilding},
						{ID: "grid2-b2", Name: "2栋", Kind: KindBuilding},
					},
				},
			},
		}, {
			// A second community with its own secretary: each secretary sees only their own
			// community's items (the authority rule), in the chat and in the console.
			ID: "hexie", Name: "和谐社区", Kind: KindCommunity,
			Children: []OrgNode{{
				ID: "grid3", Name: "3网格", Kind: KindGrid, Compound: "和谐家园",
				Children: []OrgNode{{ID: "grid3-b1", Name: "1栋", Kind: KindBuilding}},
			}},
		}},
	}}
	c.Groups = []Group{
		{ID: "local:xingfuli", Name: "幸福里小区群", Node: "grid1"},
		{ID: "local:yangguang", Name: "阳光花园小区群", Node: "grid2"},
		{ID: "local:hexie", Name: "和谐家园小区群", Node: "grid3"},
	}
	c.Members = []Member{
		{ID: "local:wang", Name: "王书记", Role: RoleSecretary, Node: "xingfu"},
		{ID: "local:li", Name: "李建国", Role: RoleMember, Node: "grid1",
			Door: "3栋1单元101", Duties: []string{"调解员"}, Teams: []string{"纠纷调解"}},
		{ID: "local:zhang", Name: "张红梅", Role: RoleMember, Node: "grid1",
			Duties: []string{"宣传员"}, Teams: []string{"应急救援"}},
		{ID: "local:zhao", Name: "赵志强", Role: RoleMember, Node: "grid2",
			Duties: []string{"调查员", "监督员"}, Teams: []string{"应急救援", "纠纷调解"}},
		{ID: "local:chen", Name: "陈阿姨", Role: RoleResident, Node: "grid1",
			Phone: "13800001234", Door: "3栋2单元502"},
		{ID: "local:liu", Name: "刘大爷", Role: RoleResident, Node: "grid2",
			Phone: "13900005678", Door: "1栋1单元201"},
		{ID: "local:sun", Name: "孙网格员", Role: RoleGridWorker, Node: "grid1"},
		{ID: "local:zhou", Name: "周书记", Role: RoleStreet, Node: "street"},
		{ID: "local:he", Name: "何书记", Role: RoleSecretary, Node: "hexie"},
		{ID: "local:qian", Name: "钱志华", Role: RoleMember, Node: "grid3",
			Duties: []string{"宣传员"}, Teams: []string{"应急救援"}},
		{ID: "local:wu", Name: "吴奶奶", Role: RoleResident, Node: "grid3",
			Phone: "13700002468", Door: "1栋2单元301"},
	}
	c.Schedules = []Schedule{
		{
			ID: "theme-day", Kind: ScheduleTheme, Rule: "每月第一个周五 15:00",
			Title: "主题党日", Place: "幸福社区党群服务中心",
			Remind: []string{"72h", "24h", "2h"},
		},
		{
			ID: "joint-meeting", Kind: ScheduleMeeting, Rule: "每季度第一个月15日 9:30",
			Title: "社区联席会议", Place: "幸福社区党群服务中心二楼会议室",
			Nodes: []string{"xingfu"}, Remind: []string{"72h", "24h"},
		},
	}
	c.defaultAddr() // the playground: loopback only
	return c
}
