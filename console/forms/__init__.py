"""Forms: server-side validation with messages next to their fields, one module per area."""

from console.forms.accounts import (
    ROLE_CHOICES,
    MemberAddForm,
    NotificationsForm,
    PasswordChangeForm,
    RoleForm,
    SetPasswordForm,
    TokenForm,
    WebhookForm,
    role_from_choice,
    username_key,
)
from console.forms.fields import DAY_FORMAT, DayField, WhyForm, choice_field
from console.forms.filters import AuditFilterForm, DateRangeForm, RunFilterForm
from console.forms.models import CREATION_MODES, UUID_PATTERN, DeleteModelForm, ModelForm
from console.forms.runs import DatasetFields, RunStartForm, ScheduleForm, algorithm_choices

__all__ = [
    "CREATION_MODES",
    "DAY_FORMAT",
    "ROLE_CHOICES",
    "UUID_PATTERN",
    "AuditFilterForm",
    "DatasetFields",
    "DateRangeForm",
    "DayField",
    "DeleteModelForm",
    "MemberAddForm",
    "ModelForm",
    "NotificationsForm",
    "PasswordChangeForm",
    "RoleForm",
    "SetPasswordForm",
    "RunFilterForm",
    "RunStartForm",
    "ScheduleForm",
    "TokenForm",
    "WebhookForm",
    "WhyForm",
    "algorithm_choices",
    "choice_field",
    "role_from_choice",
    "username_key",
]
