// lpjudge: an independent Go peer that speaks Livepeer's wire protocol (package net of
// elements/net/lp_rpc.proto) to judge lpnode from the outside, as go-livepeer would.
//
// One binary, one subcommand per role. Each role's file registers itself in the commands map
// from an init() function, so a role can be added or left out without touching this file:
//
//	lpjudge gateway ...       (gateway.go)
//	lpjudge orchestrator ...  (orchestrator.go)
//
// Helpers shared by the roles (signing oracle, Keccak-256, addresses, headers, tickets) are in
// common.go.
package main

import (
	"fmt"
	"os"
	"sort"
)

// commands maps a subcommand name to its entry point, which gets the arguments after the name
// and returns the process's exit status. Filled by init() functions in the role files.
var commands = map[string]func(args []string) int{}

func usage() {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: lpjudge COMMAND [flags]\ncommands: %v\n(lpjudge COMMAND --help for its flags)\n", names)
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		os.Exit(0)
	}
	run, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "lpjudge: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	os.Exit(run(os.Args[2:]))
}
