from django.urls import path

from parts import views

urlpatterns = [
    path("", views.board, name="board"),
    path("stats/", views.stats, name="stats"),
    path("preferences/high-contrast/", views.high_contrast_toggle, name="high-contrast"),
    path("parts/new/", views.part_create_page, name="part-create-page"),
    path("parts/<int:pk>/", views.part_detail, name="part-detail"),
    path("parts/<int:pk>/edit/", views.part_edit_page, name="part-edit-page"),
    path("parts/<int:pk>/live/", views.part_live, name="part-live"),
    path("parts/<int:pk>/move/<str:action>/", views.part_move, name="part-move"),
    path("parts/<int:pk>/onshape-import/", views.part_onshape_import, name="part-onshape-import-page"),
    path("parts/<int:pk>/drawings/<int:revision_pk>/", views.drawing_view, name="drawing-view"),
]
