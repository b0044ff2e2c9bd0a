package embedroute

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FieldViolation names one offending request field by its proto path (e.g. "inputs[3]").
type FieldViolation struct {
	Field       string
	Description string
}

// Error is a failed call with the AIP-193 details the server attached decoded, so that
// callers read which field was wrong or how long to back off without parsing protos.
// Use errors.As(err, &e) with e *Error; status.Code(err) works too.
type Error struct {
	Code            codes.Code
	Message         string
	Reason          string // ErrorInfo reason, e.g. "INVALID_ARGUMENT", "OVERLOADED"
	Domain          string
	Metadata        map[string]string
	FieldViolations []FieldViolation
	// RetryDelay is the server's RetryInfo; HasRetryDelay tells a zero delay from none.
	RetryDelay    time.Duration
	HasRetryDelay bool

	status *status.Status
}

func (e *Error) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("embedroute: %s: %s (%s)", e.Code, e.Message, e.Reason)
	}
	return fmt.Sprintf("embedroute: %s: %s", e.Code, e.Message)
}

// GRPCStatus lets status.FromError and status.Code see through the wrapper.
func (e *Error) GRPCStatus() *status.Status { return e.status }

// VectorSpaceMismatchError is returned instead of vectors when the server answers from
// another vector space than the caller expects (another file, quant, pooling, template or
// normalisation): such vectors must not be mixed into the caller's index. Actual is "" when
// the server reports no id. Use errors.As(err, &e) with e *VectorSpaceMismatchError.
type VectorSpaceMismatchError struct {
	Expected string
	Actual   string
	Model    string
}

func (e *VectorSpaceMismatchError) Error() string {
	actual := e.Actual
	if actual == "" {
		actual = "(none reported)"
	}
	return fmt.Sprintf("embedroute: model %q serves vector space %s, expected %s", e.Model, actual, e.Expected)
}

func checkSpace(expected, actual, model string) error {
	if expected != "" && actual != expected {
		return &VectorSpaceMismatchError{Expected: expected, Actual: actual, Model: model}
	}
	return nil
}

// fromRPC turns a gRPC error into *Error; other errors (a cancelled iterator, say) pass through.
func fromRPC(err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	out := &Error{Code: st.Code(), Message: st.Message(), status: st}
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.ErrorInfo:
			out.Reason, out.Domain, out.Metadata = d.GetReason(), d.GetDomain(), d.GetMetadata()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				out.FieldViolations = append(out.FieldViolations, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		case *errdetails.RetryInfo:
			out.RetryDelay, out.HasRetryDelay = d.GetRetryDelay().AsDuration(), true
		}
	}
	return out
}
