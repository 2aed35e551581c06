// A metacontroller hook in Go, built with GOOS=wasip1 GOARCH=wasm as a WASI preview1
// command (hook ABI v1). Standard library only.
//
// argv[1] is the hook: sync, finalize or customize. The request is on stdin; the
// response goes to stdout. For a CompositeController sync, the hook answers with one
// ConfigMap child named after the parent, holding the parent's spec.message.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// The parts of metacontroller's request this hook reads. encoding/json skips the rest.
type request struct {
	Parent struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Message *string `json:"message"`
		} `json:"spec"`
	} `json:"parent"`
}

type object = map[string]any

func main() {
	name := "hook"
	if len(os.Args) > 0 {
		name = os.Args[0]
	}
	hook := ""
	if len(os.Args) > 1 {
		hook = os.Args[1]
	}
	if err := run(hook, os.Stdin, os.Stdout); err != nil {
		// The tail of stderr reaches metacontroller's SyncError event: say what is wrong.
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

func run(hook string, in io.Reader, out io.Writer) error {
	input, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("cannot read the request from stdin: %w", err)
	}
	var response any
	switch hook {
	case "sync":
		if response, err = sync(input); err != nil {
			return err
		}
	case "finalize":
		// Delete the ConfigMap and let the parent go.
		response = object{"children": []any{}, "finalized": true}
	case "customize":
		response = object{"relatedResources": []any{}}
	default:
		return fmt.Errorf("unknown hook %q in argv[1]: expected sync, finalize or customize", hook)
	}
	return json.NewEncoder(out).Encode(response)
}

func sync(input []byte) (any, error) {
	var req request
	if err := json.Unmarshal(input, &req); err != nil {
		return nil, fmt.Errorf("cannot read the sync request: %w", err)
	}
	parent := req.Parent.Metadata.Name
	if parent == "" {
		return nil, errors.New("the request has no parent.metadata.name; is this a CompositeController sync request?")
	}
	message := "Hello!"
	if req.Parent.Spec.Message != nil {
		message = *req.Parent.Spec.Message
	}
	configMap := object{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata":   object{"name": parent},
		"data":       object{"message": message},
	}
	return object{"children": []any{configMap}}, nil
}
