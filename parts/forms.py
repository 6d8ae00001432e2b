"""The pages' HTML forms: the moves', built from their declaration (parts.moves), for the part page and
the admin; and a part's own fields, for the pages that create and edit parts."""

from django import forms

from parts.models import Part
from parts.moves import Person, Text
from parts.permissions import assignable_people
from parts.services import EDITABLE_FIELDS


def _text_field(text, by_username):
    widget = forms.Textarea(attrs={"rows": 2}) if text.multiline else forms.TextInput
    field = forms.CharField(label=text.label, required=text.required, max_length=text.max_length, widget=widget)
    if text.placeholder:
        field.widget.attrs["placeholder"] = text.placeholder
    return field


def _person_field(person, by_username):
    return forms.ModelChoiceField(
        assignable_people(), label=person.label, empty_label="Choose…",
        to_field_name="username" if by_username else None,
    )


# How a form asks for each kind of field.
MOVE_FORM_FIELDS = {Text: _text_field, Person: _person_field}


class MoveForm(forms.Form):
    """The fields a move takes.

    With a part, it is the part page's form: filled in with the part's values where the move
    says so, with the move's confirmation when it applies, and people named by username as
    in the API (the page sends what it shows to the same checks as the API, parts.views).
    Without one it is the admin's, for many parts at once, people named by id."""

    def __init__(self, spec, *, part=None, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(**kwargs)
        for field in spec.fields:
            self.fields[field.name] = MOVE_FORM_FIELDS[type(field)](field, by_username=part is not None)
            if part is not None and field.prefill:
                self.initial[field.name] = getattr(part, field.name)
        confirmation = spec.confirmation
        if part is not None and confirmation and confirmation.applies(part):
            self.fields[confirmation.name] = forms.BooleanField(label=confirmation.label.format(part=part))


class PartForm(forms.ModelForm):
    """A part's own fields, as the pages create and edit them (parts.services.EDITABLE_FIELDS).

    The form checks each field; the services decide what may change (a service's refusal is
    shown on the form, on the field it names)."""

    class Meta:
        model = Part
        fields = EDITABLE_FIELDS
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["part_number"].widget.attrs["placeholder"] = "Generated when left blank"

    def refuse(self, refused):
        """Show a service's refusal (partsite.errors.DomainError) on the field it names, else above the form."""
        self.add_error(refused.field if refused.field in self.fields else None, refused.message)

    def changes(self):
        """The fields the person changed, with their new values."""
        return {name: self.cleaned_data[name] for name in self.changed_data}


class FirstFilesForm(forms.Form):
    """The files a new part may start with: a STEP model, a drawing (PDF or DXF), or both."""

    step_file = forms.FileField(label="STEP model (.step, .stp)", required=False)
    drawing_file = forms.FileField(label="Drawing (.pdf, .dxf)", required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["step_file"].widget.attrs["accept"] = ".step,.stp"
        self.fields["drawing_file"].widget.attrs["accept"] = ".pdf,.dxf"
