package steward

import (
	"net/mail"
	"strings"
	"time"
)

// OwnerKind says whether an owner is a person or a team.
type OwnerKind string

// Owner kinds.
const (
	OwnerPerson OwnerKind = "person"
	OwnerTeam   OwnerKind = "team"
)

// OwnerStatus says whether an owner is still accountable.
type OwnerStatus string

// Owner states.
const (
	OwnerActive   OwnerStatus = "active"
	OwnerDeparted OwnerStatus = "departed"
)

// Owner is the person or team accountable for identities.
type Owner struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	Email         string      `json:"email"`
	Kind          OwnerKind   `json:"kind"`
	Status        OwnerStatus `json:"status"`
	Team          string      `json:"team"`
	ManagerID     string      `json:"manager_id"`
	BackupOwnerID string      `json:"backup_owner_id"`
	ExternalRef   string      `json:"external_ref"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
	DepartedAt    *time.Time  `json:"departed_at"`
	Version       int64       `json:"version"`
}

// Normalize trims text fields and lower-cases the email.
func (o *Owner) Normalize() {
	o.Name = strings.TrimSpace(o.Name)
	o.Email = strings.ToLower(strings.TrimSpace(o.Email))
	o.Team = strings.TrimSpace(o.Team)
	o.ManagerID = strings.TrimSpace(o.ManagerID)
	o.BackupOwnerID = strings.TrimSpace(o.BackupOwnerID)
	o.ExternalRef = strings.TrimSpace(o.ExternalRef)
}

// Validate checks every field and names the first at fault.
func (o *Owner) Validate() error {
	switch {
	case o.Name == "":
		return FieldError("name", "is required")
	case len(o.Name) > MaxNameLen:
		return FieldError("name", "is longer than %d characters", MaxNameLen)
	case o.Kind != OwnerPerson && o.Kind != OwnerTeam:
		return FieldError("kind", "%q is not one of person, team", o.Kind)
	case o.Status != OwnerActive && o.Status != OwnerDeparted:
		return FieldError("status", "%q is not one of active, departed", o.Status)
	case len(o.Team) > MaxNameLen:
		return FieldError("team", "is longer than %d characters", MaxNameLen)
	case len(o.ExternalRef) > MaxTextLen:
		return FieldError("external_ref", "is longer than %d characters", MaxTextLen)
	case o.BackupOwnerID != "" && o.BackupOwnerID == o.ID:
		return FieldError("backup_owner_id", "cannot be the owner itself")
	case o.ManagerID != "" && o.ManagerID == o.ID:
		return FieldError("manager_id", "cannot be the owner itself")
	}
	if o.Email != "" {
		a, err := mail.ParseAddress(o.Email)
		if err != nil || a.Address != o.Email {
			return FieldError("email", "%q is not an email address", o.Email)
		}
	}
	if o.Kind == OwnerPerson && o.Email == "" {
		return FieldError("email", "is required for a person")
	}
	return nil
}

// OwnerFilter selects owners in a list.
type OwnerFilter struct {
	Status OwnerStatus
	Team   string
	Query  string
	Email  string
	Limit  int
	Cursor string
}

// Departure is the result of marking an owner departed: the identities it
// owned, which now need a new owner.
type Departure struct {
	Owner      *Owner      `json:"owner"`
	Identities []*Identity `json:"identities"`
}
