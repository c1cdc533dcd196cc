from django.http import Http404


def _todo(*args, **kwargs):  # replaced by the listings pages work
    raise Http404


home = listing_list = my_listings = listing_create_choose = listing_create = _todo
listing_detail = listing_edit = listing_photos = photo_delete = _todo
listing_set_status = listing_delete = _todo
