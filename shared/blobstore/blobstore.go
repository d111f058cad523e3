// Package blobstore keeps uploaded documents in an Azure Blob Storage
// container: the customer's storage account in Azure, Azurite locally.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/bondingai/platform/shared/config"
)

// developmentStorage is what "UseDevelopmentStorage=true" stands for: the
// well-known Azurite account on its default blob port. The SDK does not
// expand the shorthand itself.
const developmentStorage = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
	"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
	"BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"

// ErrNotFound is returned for a blob that does not exist.
var ErrNotFound = errors.New("blob not found")

// Store reads and writes blobs in one container.
type Store struct {
	container *container.Client
	name      string
}

// Options carries what the caller controls about the client.
type Options struct {
	// Transport sends every request; the platform passes its egress policy.
	// Nil uses the SDK's default.
	Transport policy.Transporter
	// Credential authenticates a managed-identity connection
	// (BlobServiceURI); unused with a connection string.
	Credential azcore.TokenCredential
}

// New returns a Store for containerName on the account conn describes.
func New(conn config.StorageConnection, containerName string, opts Options) (*Store, error) {
	clientOptions := &azblob.ClientOptions{}
	if opts.Transport != nil {
		clientOptions.Transport = opts.Transport
	}
	var client *azblob.Client
	var err error
	switch {
	case conn.ConnectionString != "":
		connectionString := conn.ConnectionString
		if strings.EqualFold(strings.TrimSuffix(strings.TrimSpace(connectionString), ";"), "UseDevelopmentStorage=true") {
			connectionString = developmentStorage
		}
		client, err = azblob.NewClientFromConnectionString(connectionString, clientOptions)
	case conn.BlobServiceURI != "":
		if opts.Credential == nil {
			return nil, errors.New("blob storage: a managed-identity connection needs a credential")
		}
		client, err = azblob.NewClient(conn.BlobServiceURI, opts.Credential, clientOptions)
	default:
		return nil, errors.New("blob storage: no connection string or service URI")
	}
	if err != nil {
		return nil, fmt.Errorf("blob storage client: %w", err)
	}
	return &Store{container: client.ServiceClient().NewContainerClient(containerName), name: containerName}, nil
}

// Container returns the container name.
func (s *Store) Container() string {
	return s.name
}

// EnsureContainer creates the container when it does not exist.
func (s *Store) EnsureContainer(ctx context.Context) error {
	_, err := s.container.Create(ctx, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return fmt.Errorf("create container %s: %w", s.name, err)
	}
	return nil
}

// Ping checks that the container is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.container.GetProperties(ctx, nil); err != nil {
		return fmt.Errorf("container %s: %w", s.name, err)
	}
	return nil
}

// Upload writes r to blob name, replacing any blob of that name, with the
// given content type and user metadata.
func (s *Store) Upload(ctx context.Context, name string, r io.Reader, contentType string, metadata map[string]string) error {
	meta := make(map[string]*string, len(metadata))
	for k, v := range metadata {
		meta[k] = &v
	}
	_, err := s.container.NewBlockBlobClient(name).UploadStream(ctx, r, &blockblob.UploadStreamOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: &contentType},
		Metadata:    meta,
	})
	if err != nil {
		return fmt.Errorf("upload blob %s/%s: %w", s.name, name, err)
	}
	return nil
}

// Download returns the whole blob.
func (s *Store) Download(ctx context.Context, name string) ([]byte, error) {
	resp, err := s.container.NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		if bloberror.HasCode(err, bloberror.BlobNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("download blob %s/%s: %w", s.name, name, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read blob %s/%s: %w", s.name, name, err)
	}
	return data, nil
}

// Delete removes the blob and its snapshots. A blob that is already gone is
// not an error, so a retried delete succeeds.
func (s *Store) Delete(ctx context.Context, name string) error {
	include := azblob.DeleteSnapshotsOptionTypeInclude
	_, err := s.container.NewBlobClient(name).Delete(ctx, &azblob.DeleteBlobOptions{DeleteSnapshots: &include})
	if err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound) {
		return fmt.Errorf("delete blob %s/%s: %w", s.name, name, err)
	}
	return nil
}

// Exists reports whether blob name exists.
func (s *Store) Exists(ctx context.Context, name string) (bool, error) {
	_, err := s.container.NewBlobClient(name).GetProperties(ctx, nil)
	if err == nil {
		return true, nil
	}
	var respErr *azcore.ResponseError
	if bloberror.HasCode(err, bloberror.BlobNotFound) || (errors.As(err, &respErr) && respErr.StatusCode == http.StatusNotFound) {
		return false, nil
	}
	return false, fmt.Errorf("read properties of blob %s/%s: %w", s.name, name, err)
}
