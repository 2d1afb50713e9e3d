module github.com/carelog/carelog/events

go 1.26.0
