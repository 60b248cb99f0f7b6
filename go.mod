module github.com/soliplex/slogotlp

go 1.26
