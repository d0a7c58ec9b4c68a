package controlapi

import (
	"net/http"
)

// furl's own resource-policy operations (/furl/v1/functions/{name}/policy): put, get and delete
// a function's whole policy document, which AddPermission cannot express (conditions such as
// an aws:SourceIp allow-list). They are authorized as the Lambda operations they extend:
// PUT as lambda:AddPermission, GET as lambda:GetPolicy, DELETE as lambda:RemovePermission.
// Answers have GetPolicy's shape: {"Policy": "<document>", "RevisionId": "..."}.

// putPolicy: PUT /furl/v1/functions/{name}/policy?Qualifier=&RevisionId= with the document as
// the body.
func (h *Handler) putPolicy(c *call) error {
	ref, err := h.ref(c)
	if err != nil {
		return err
	}
	doc, rev, err := h.svc.PutPolicy(c.r.Context(), ref, c.body, c.query("RevisionId"))
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, map[string]string{"Policy": string(doc), "RevisionId": rev})
}

// deletePolicy: DELETE /furl/v1/functions/{name}/policy?Qualifier=&RevisionId=.
func (h *Handler) deletePolicy(c *call) error {
	ref, err := h.ref(c)
	if err != nil {
		return err
	}
	return noContent(c, h.svc.DeletePolicy(c.r.Context(), ref, c.query("RevisionId")))
}
