package helmtest
