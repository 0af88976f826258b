module mimcheck

go 1.23
