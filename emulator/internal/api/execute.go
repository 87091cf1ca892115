package api

import "github.com/gorilla/mux"

// NOTE for the execute work (issue 3): this file is yours. Replace the
// placeholder Executor with the execution service type (e.g.
// `type Executor = *execution.Service`, set by emulator.Start as Server.Exec)
// and register POST /v1/sandbox/execute, GET /v1/executions/{trace_id} and
// GET /v1/executions/{trace_id}/output in executeRoutes, using methods(),
// keyFrom(), decodeJSON(), writeJSON() and writeError() from this package.

// Executor runs code; a placeholder until the execution service lands.
type Executor interface{}

// executeRoutes registers the execute routes on the authenticated /v1 router.
func (s *Server) executeRoutes(v1 *mux.Router) {}
