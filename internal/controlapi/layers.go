package controlapi

// layerRefOut is one entry of FunctionConfiguration.Layers.
type layerRefOut struct {
	Arn      string `json:"Arn"`
	CodeSize int64  `json:"CodeSize"`
}
