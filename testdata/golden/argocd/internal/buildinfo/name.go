package buildinfo

// Name is the service name: the binary, the image, the chart, the
// OpenTelemetry service.name and the prefix of the build-info metric.
const Name = "payments"
