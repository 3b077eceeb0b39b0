module safehold.test/pause

go 1.24
