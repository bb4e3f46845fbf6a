module github.com/acme/platform-templates

go 1.26.0
