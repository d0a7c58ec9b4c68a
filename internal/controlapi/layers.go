package controlapi

import (
	"net/http"
	"strconv"

	"github.com/furl/furl/internal/functions"
)

// Lambda layer operations (/2018-10-31/layers...) and the layer entries of
// FunctionConfiguration.

// layerRefOut is one entry of FunctionConfiguration.Layers.
type layerRefOut struct {
	Arn      string `json:"Arn"`
	CodeSize int64  `json:"CodeSize"`
}

type layerContentOut struct {
	Location   string `json:"Location"`
	CodeSha256 string `json:"CodeSha256"`
	CodeSize   int64  `json:"CodeSize"`
}

// layerVersionOut is GetLayerVersion's and PublishLayerVersion's answer.
type layerVersionOut struct {
	Content                 *layerContentOut `json:"Content,omitempty"`
	LayerArn                string           `json:"LayerArn,omitempty"`
	LayerVersionArn         string           `json:"LayerVersionArn"`
	Description             string           `json:"Description"`
	CreatedDate             string           `json:"CreatedDate"`
	Version                 int64            `json:"Version"`
	CompatibleRuntimes      []string         `json:"CompatibleRuntimes,omitempty"`
	LicenseInfo             string           `json:"LicenseInfo,omitempty"`
	CompatibleArchitectures []string         `json:"CompatibleArchitectures,omitempty"`
}

// layerItem is a LayerVersionsListItem: a version without Content and LayerArn.
func (h *Handler) layerItem(l *functions.LayerVersion) *layerVersionOut {
	return &layerVersionOut{
		LayerVersionArn: h.svc.LayerARN(l.Name, l.Version), Description: l.Description,
		CreatedDate: l.Created.UTC().Format(lastModifiedLayout), Version: l.Version, CompatibleRuntimes: l.CompatibleRuntimes,
		LicenseInfo: l.LicenseInfo, CompatibleArchitectures: l.CompatibleArchitectures,
	}
}

func (h *Handler) layerVersion(c *call) func(l *functions.LayerVersion) *layerVersionOut {
	return func(l *functions.LayerVersion) *layerVersionOut {
		o := h.layerItem(l)
		o.LayerArn = h.svc.LayerARN(l.Name, 0)
		o.Content = &layerContentOut{
			Location:   "http://" + c.r.Host + "/furl/v1/layers/" + l.Name + "/versions/" + itoa64(l.Version) + "/content",
			CodeSha256: l.CodeSha256, CodeSize: l.CodeSize,
		}
		return o
	}
}

// layerParams parses the {LayerName} and {VersionNumber} path parameters.
func (h *Handler) layerParams(c *call) (string, int64, error) {
	v, err := functions.ParseLayerVersion(c.params[1])
	return c.params[0], v, err
}

func (h *Handler) publishLayerVersion(c *call) error {
	var in functions.PublishLayerInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	return reply(c, http.StatusCreated, h.layerVersion(c))(h.svc.PublishLayerVersion(c.r.Context(), c.params[0], &in))
}

func (h *Handler) getLayerVersion(c *call) error {
	name, v, err := h.layerParams(c)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, h.layerVersion(c))(h.svc.GetLayerVersion(c.r.Context(), name, v))
}

// listLayers serves GET /2018-10-31/layers: ListLayers, or GetLayerVersionByArn with
// ?find=LayerVersion&Arn=….
func (h *Handler) listLayers(c *call) error {
	if c.query("find") == "LayerVersion" {
		return reply(c, http.StatusOK, h.layerVersion(c))(h.svc.GetLayerVersionByArn(c.r.Context(), c.query("Arn")))
	}
	return writePage(c, "Layers", func(marker string, max int) ([]*functions.LayerVersion, string, error) {
		return h.svc.ListLayers(c.r.Context(), c.query("CompatibleRuntime"), c.query("CompatibleArchitecture"), marker, max)
	}, func(l *functions.LayerVersion) map[string]any {
		return map[string]any{"LayerName": l.Name, "LayerArn": h.svc.LayerARN(l.Name, 0), "LatestMatchingVersion": h.layerItem(l)}
	})
}

func (h *Handler) listLayerVersions(c *call) error {
	return writePage(c, "LayerVersions", func(marker string, max int) ([]*functions.LayerVersion, string, error) {
		return h.svc.ListLayerVersions(c.r.Context(), c.params[0], c.query("CompatibleRuntime"), c.query("CompatibleArchitecture"), marker, max)
	}, h.layerItem)
}

func (h *Handler) deleteLayerVersion(c *call) error {
	name, v, err := h.layerParams(c)
	if err != nil {
		return err
	}
	return noContent(c, h.svc.DeleteLayerVersion(c.r.Context(), name, v))
}

func (h *Handler) addLayerVersionPermission(c *call) error {
	name, v, err := h.layerParams(c)
	if err != nil {
		return err
	}
	var in functions.LayerPermissionInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	stmt, rev, err := h.svc.AddLayerVersionPermission(c.r.Context(), name, v, &in, c.query("RevisionId"))
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusCreated, map[string]string{"Statement": stmt, "RevisionId": rev})
}

func (h *Handler) removeLayerVersionPermission(c *call) error {
	name, v, err := h.layerParams(c)
	if err != nil {
		return err
	}
	return noContent(c, h.svc.RemoveLayerVersionPermission(c.r.Context(), name, v, c.params[2], c.query("RevisionId")))
}

func (h *Handler) getLayerVersionPolicy(c *call) error {
	name, v, err := h.layerParams(c)
	if err != nil {
		return err
	}
	doc, rev, err := h.svc.GetLayerVersionPolicy(c.r.Context(), name, v)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, map[string]string{"Policy": doc, "RevisionId": rev})
}

// getLayerContent serves a layer version's zip (its Content.Location).
func (h *Handler) getLayerContent(c *call) error {
	name, v, err := h.layerParams(c)
	if err != nil {
		return err
	}
	l, err := h.svc.GetLayerVersion(c.r.Context(), name, v)
	if err != nil {
		return err
	}
	b, err := h.svc.PackageZip(l.CodeHex)
	if err != nil {
		return err
	}
	return writeBody(c, http.StatusOK, "application/zip", b)
}

// layerResource is the ARN a layer operation is authorized against: the layer's, or its
// version's when the path names one. GetLayerVersionByArn is authorized as GetLayerVersion.
func (h *Handler) layerResource(c *call, action string) (string, string) {
	if action == "lambda:ListLayers" && c.query("find") == "LayerVersion" {
		return "lambda:GetLayerVersion", c.query("Arn")
	}
	if len(c.params) == 0 {
		return action, "*"
	}
	name, err := h.svc.ParseLayerName(c.params[0])
	if err != nil {
		return action, "*"
	}
	if len(c.params) > 1 {
		if v, err := functions.ParseLayerVersion(c.params[1]); err == nil {
			return action, h.svc.LayerARN(name, v)
		}
	}
	return action, h.svc.LayerARN(name, 0)
}

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }
