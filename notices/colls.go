package notices

// Collections other features read: the ledger (台账) counts sent notices and their receipts.
const (
	CollNotices = collNotices // <id> → Notice
	CollGroups  = collGroups  // <id> → []string, the frozen target groups
	CollAcks    = collAcks    // <id>|<group>|<person> → Receipt
)

// AckPrefix is the prefix of notice id's receipts in CollAcks.
func AckPrefix(id int64) string { return ackPrefix(id) }
