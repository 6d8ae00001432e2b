"""The pages' HTML forms: the moves', built from their declaration (parts.moves), for the part page and
the admin; and a part's own fields, for the pages that create and edit parts."""

from django import forms

from files.models import Kind
from parts.models import Part
from parts.lifecycle import RELEASED, RELEASED_FIELDS
from parts.moves import Acknowledgement, Person, RevisionChoice, Text
from parts.permissions import assignable_people
from parts.services import EDITABLE_FIELDS


def _text_field(text, part, by_username):
    widget = forms.Textarea(attrs={"rows": 2}) if text.multiline else forms.TextInput
    field = forms.CharField(label=text.label, required=text.required, max_length=text.max_length, widget=widget)
    if text.placeholder:
        field.widget.attrs["placeholder"] = text.placeholder
    return field


def _person_field(person, part, by_username):
    return forms.ModelChoiceField(
        assignable_people(), label=person.label, empty_label="Choose…",
        to_field_name="username" if by_username else None,
    )


class RevisionRadios(forms.RadioSelect):
    """A part's STEP revisions to choose from, each with its preview, number, filename and conversion state."""

    option_template_name = "parts/_revision_option.html"

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["revision"] = getattr(value, "instance", None)
        return option


class RevisionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, revision):
        return f"{revision.label} {revision.filename} ({revision.get_conversion_status_display().lower()})"


def _revision_field(choice, part, by_username):
    """One of the part's STEP revisions, newest first, or none: the service takes the latest."""
    revisions = part.revisions.filter(kind=Kind.STEP).order_by("-number") if part is not None else None
    latest = revisions.first() if revisions is not None else None
    return RevisionChoiceField(
        revisions, label=choice.label, required=False, widget=RevisionRadios, blank=True,
        empty_label=f"The latest ({latest.label})" if latest else "The latest", help_text=choice.help_text,
    )


def _acknowledgement_field(acknowledgement, part, by_username):
    """A box to tick; on one part's form it says what there is to acknowledge on that part, and
    there is no box when there is nothing (None). The bulk form, for any part, always has it."""
    if part is None:
        return forms.BooleanField(label=acknowledgement.label, required=False, help_text=acknowledgement.help_text)
    explanation = acknowledgement.explain(part)
    if not explanation:
        return None
    return forms.BooleanField(label=acknowledgement.label, required=False, help_text=explanation)


# How a form asks for each kind of field.
MOVE_FORM_FIELDS = {
    Text: _text_field, Person: _person_field, RevisionChoice: _revision_field, Acknowledgement: _acknowledgement_field,
}


class MoveForm(forms.Form):
    """The fields a move takes.

    With a part, it is the part page's form: filled in with the part's values where the move
    says so, with the move's confirmation when it applies, and people named by username as
    in the API (the page sends what it shows to the same checks as the API, parts.views).
    With `admin=True` it is the admin's: people named by id, and no confirmation box (the
    admin takes the move itself as the answer). Without a part it is the admin's bulk form, for
    many parts at once; a choice of one part's revisions is left out (each part's latest is taken)."""

    def __init__(self, spec, *, part=None, admin=False, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(**kwargs)
        admin = admin or part is None
        by_username = not admin
        for field in spec.fields:
            if part is None and isinstance(field, RevisionChoice):
                continue
            form_field = MOVE_FORM_FIELDS[type(field)](field, part, by_username)
            if form_field is None:  # nothing to acknowledge on this part
                continue
            self.fields[field.name] = form_field
            if isinstance(field, RevisionChoice):
                self.initial[field.name] = ""  # "The latest" is ticked until another is chosen
            if part is not None and field.prefill:
                self.initial[field.name] = getattr(part, field.name)
        confirmation = spec.confirmation
        if not admin and confirmation and confirmation.applies(part):
            self.fields[confirmation.name] = forms.BooleanField(label=confirmation.label.format(part=part))


class PartForm(forms.ModelForm):
    """A part's own fields, as the pages create and edit them (parts.services.EDITABLE_FIELDS).

    The form checks each field; the services decide what may change (a service's refusal is
    shown on the form, on the field it names)."""

    class Meta:
        model = Part
        fields = EDITABLE_FIELDS
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, may_edit_released=False, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["part_number"].widget.attrs["placeholder"] = "Generated when left blank"
        if self.instance.pk and self.instance.status in RELEASED:
            self._release(may_edit_released)

    def _release(self, may_edit_released):
        """A released part: its released fields are shown but locked for a fabricator; a lead may
        change them, saying why (parts.services.part_update puts the reason on the timeline)."""
        if not may_edit_released:
            for name in RELEASED_FIELDS:
                self.fields[name].disabled = True
                self.fields[name].help_text = "Released by approval: ask a lead to change it."
            return
        self.fields["reason"] = forms.CharField(
            label="Reason for changing a released part", required=False, max_length=2000,
            help_text="Needed when you change its type, material, thickness or amount; it goes on the timeline.",
        )

    def refuse(self, refused):
        """Show a service's refusal (partsite.errors.DomainError) on the field it names, else above the form."""
        self.add_error(refused.field if refused.field in self.fields else None, refused.message)

    def changes(self):
        """The fields the person changed, with their new values."""
        return {name: self.cleaned_data[name] for name in self.changed_data if name != "reason"}

    @property
    def reason(self):
        return self.cleaned_data.get("reason", "")


class FirstFilesForm(forms.Form):
    """The files a new part may start with: a STEP model, a drawing (PDF or DXF), or both."""

    step_file = forms.FileField(label="STEP model (.step, .stp)", required=False)
    drawing_file = forms.FileField(label="Drawing (.pdf, .dxf)", required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["step_file"].widget.attrs["accept"] = ".step,.stp"
        self.fields["drawing_file"].widget.attrs["accept"] = ".pdf,.dxf"
