-- Access-review pages read a campaign's items a page at a time and count
-- them in the database instead of reading every item:
-- * a page of one status in id order is a range of (campaign_id, status, id);
-- * a page of one owner's items is a range of (owner_id, campaign_id,
--   status, id, decision), and so are an owner's counts (the index covers
--   them); owner_id comes first so that no planner, even without
--   statistics, answers an owner's query from the campaign's indexes;
-- * a campaign's counts by status and decision are read from
--   (campaign_id, status, decision) alone, in GROUP BY order.
CREATE INDEX review_items_campaign_status ON review_items (campaign_id, status, id);
CREATE INDEX review_items_owner ON review_items (owner_id, campaign_id, status, id, decision);
CREATE INDEX review_items_counts ON review_items (campaign_id, status, decision);
