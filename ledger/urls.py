from django.urls import path

from ledger import views

app_name = "ledger"

urlpatterns = [
    path("", views.account, name="account"),
    path("statement.csv", views.statement_csv, name="statement-csv"),
    path("send/", views.send, name="send"),
]
