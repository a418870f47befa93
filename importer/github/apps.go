package github

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer/internal/kit"
)

// installation is one item of GET /orgs/{org}/installations.
type installation struct {
	ID                  *int64            `json:"id"`
	Account             *account          `json:"account"`
	AppID               int64             `json:"app_id"`
	AppSlug             string            `json:"app_slug"`
	TargetType          string            `json:"target_type"`
	RepositorySelection string            `json:"repository_selection"`
	Permissions         map[string]string `json:"permissions"`
	CreatedAt           *string           `json:"created_at"`
	SuspendedAt         *string           `json:"suspended_at"`
	SuspendedBy         *account          `json:"suspended_by"`
}

// ParseAppInstallations reads {"total_count": …, "installations": […]} or
// a bare array of installations: one vendor-managed oauth_app identity per
// installation.
func ParseAppInstallations(r io.Reader) (kit.Result, error) {
	data, err := kit.ReadAll(r)
	if err != nil {
		return kit.Result{}, err
	}
	elems, single, err := kit.JSONArray(data, "installations")
	if err != nil {
		return kit.Result{}, err
	}
	if single {
		return kit.Result{}, kit.Invalid(elems[0].Line, `expected {"installations": […]} or a JSON array of installations (GET /orgs/{org}/installations)`)
	}
	return kit.Records(elems, appRecord), nil
}

func appRecord(in *installation) (steward.ImportRecord, string, error) {
	if in.ID == nil {
		return steward.ImportRecord{}, "id", fmt.Errorf("is missing")
	}
	ref := "installation:" + strconv.FormatInt(*in.ID, 10)
	name := strings.TrimSpace(in.AppSlug)
	if name == "" && in.AppID != 0 {
		name = "app-" + strconv.FormatInt(in.AppID, 10)
	}
	id := kit.NewIdentity(steward.KindOAuthApp, "github", ref, name)
	id.VendorManaged = true
	rec := steward.ImportRecord{Identity: id}
	if name == "" {
		return rec, "app_slug", fmt.Errorf("is missing (and so is app_id)")
	}
	if in.Account != nil && in.Account.Login != "" {
		id.Labels["github_account"] = in.Account.Login
	}
	if in.AppID != 0 {
		id.Labels["github_app_id"] = strconv.FormatInt(in.AppID, 10)
	}
	if in.TargetType != "" {
		id.Labels["target_type"] = in.TargetType
	}
	if in.RepositorySelection != "" {
		id.Labels["repository_selection"] = in.RepositorySelection
	}
	for perm, level := range in.Permissions {
		if level != "" {
			id.Scopes = append(id.Scopes, perm+":"+level)
		}
	}
	created, err := optTime(in.CreatedAt)
	if err != nil {
		return rec, "created_at", err
	}
	if created != nil {
		id.CreatedAt = *created
	}
	suspended, err := optTime(in.SuspendedAt)
	if err != nil {
		return rec, "suspended_at", err
	}
	if suspended != nil {
		id.Status = steward.StatusSuspended
		id.Labels["suspended_at"] = suspended.Format(time.RFC3339)
		if in.SuspendedBy != nil && in.SuspendedBy.Login != "" {
			id.Labels["suspended_by"] = in.SuspendedBy.Login
		}
	}
	rec.Identity = id
	return rec, "", nil
}
