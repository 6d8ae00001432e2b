from django.db import migrations

# Typical densities of the stock small shops cut (kg/m³); leads correct them in the admin.
SHOP_MATERIALS = [
    ("Aluminium 6061", 2700, "6061, 6061-T6, Al 6061, Aluminium, Aluminum"),
    ("Steel 1018", 7870, "1018, Mild steel, Steel"),
    ("Polycarbonate", 1200, "PC, Lexan"),
    ("HDPE", 950, "High-density polyethylene"),
    ("Plywood", 680, "Birch plywood, Ply"),
    ("PLA", 1240, ""),
    ("PETG", 1270, ""),
]


def seed(apps, schema_editor):
    Material = apps.get_model("parts", "Material")
    for name, density, other_names in SHOP_MATERIALS:
        Material.objects.get_or_create(name=name, defaults={"density_kg_m3": density, "other_names": other_names})


def unseed(apps, schema_editor):
    apps.get_model("parts", "Material").objects.filter(name__in=[name for name, _, _ in SHOP_MATERIALS]).delete()


class Migration(migrations.Migration):
    dependencies = [("parts", "0010_material_table")]

    operations = [migrations.RunPython(seed, unseed)]
