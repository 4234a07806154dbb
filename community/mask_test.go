package community_test

import (
	"testing"

	"github.com/neighborbot/neighborbot/community"
)

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"电话13812345678", "电话138****5678"},
		{"3栋2单元楼道灯坏了，电话13812345678", "3栋2单元楼道灯坏了，电话138****5678"},
		{"手机 138 1234 5678 找我", "手机 138****5678 找我"},
		{"138-1234-5678", "138****5678"},
		{"13812345678,13900001111", "138****5678,139****1111"},
		{"3栋502室漏水", "3栋***室漏水"},
		{"住3-502", "住3-***"},
		{"订单号 123456789012 不是电话", "订单号 123456789012 不是电话"},
		{"座机0571-88881234", "座机0571-****1234"},
		{"3栋2单元", "3栋2单元"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := community.Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := community.MaskPhone("13812345678"); got != "138****5678" {
		t.Errorf("MaskPhone = %q", got)
	}
	if got := community.Phones("找李师傅13812345678或13900001111"); len(got) != 2 || got[1] != "13900001111" {
		t.Errorf("Phones = %v", got)
	}
}

func TestTree(t *testing.T) {
	tree, err := community.NewTree([]community.Node{
		{ID: "street", Name: "城关街道", Kind: community.KindStreet},
		{ID: "xingfu", Name: "幸福社区", Kind: community.KindCommunity, Parent: "street"},
		{ID: "grid1", Name: "1网格", Kind: community.KindGrid, Parent: "xingfu"},
		{ID: "grid2", Name: "2网格", Kind: community.KindGrid, Parent: "xingfu"},
		{ID: "b3", Name: "3栋", Kind: community.KindBuilding, Parent: "grid1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !tree.Within("b3", "xingfu") || tree.Within("grid2", "grid1") {
		t.Error("Within")
	}
	if n, ok := tree.Find("1网格"); !ok || n.ID != "grid1" {
		t.Errorf("Find 1网格 = %v %v", n, ok)
	}
	if n, ok := tree.Find("幸福"); !ok || n.ID != "xingfu" {
		t.Errorf("Find prefix = %v %v", n, ok)
	}
	if _, ok := tree.Find("网格"); ok {
		t.Error("ambiguous name matched")
	}
	if n, ok := tree.AncestorOfKind("b3", community.KindCommunity); !ok || n.ID != "xingfu" {
		t.Errorf("AncestorOfKind = %v", n)
	}
	if got := len(tree.Subtree("xingfu")); got != 4 {
		t.Errorf("Subtree = %d nodes", got)
	}
	if _, err := community.NewTree([]community.Node{{ID: "a", Parent: "b"}, {ID: "b", Parent: "a"}}); err == nil {
		t.Error("cycle accepted")
	}
	if _, err := community.NewTree([]community.Node{{ID: "a", Parent: "zz"}}); err == nil {
		t.Error("unknown parent accepted")
	}
}
